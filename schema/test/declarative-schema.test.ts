import { describe, expect, it } from "vitest";
import {
  DECLARATIVE_LIMITS,
  declarativeProblems,
  declarativeServer,
  parseTemplate,
  type TemplatePart,
} from "../src/index.ts";

// Declarative tools as data: what the schema accepts, and for what it refuses, the message a
// person reads (path first, then what to change).

const http = (request: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  kind: "http",
  name: "get_user",
  description: "Gets a user",
  params: { id: { type: "string" }, page: { type: "integer", required: false } },
  request,
  ...extra,
});
const server = (...tools: unknown[]) => ({ name: "demo", tools });
const problems = (input: unknown): string[] => {
  const parsed = declarativeServer.safeParse(input);
  return parsed.success ? [] : declarativeProblems(parsed.error, input);
};

describe("declarativeServer accepts", () => {
  const good: [string, unknown][] = [
    ["a static text", server({ kind: "static", name: "hello", description: "Says hi", result: "hi" })],
    [
      "a static JSON value with odd keys",
      server({ kind: "static", name: "faq", description: "d", result: { __proto__x: [1, null, { a: true }] } }),
    ],
    [
      "an http GET with path, query, header and secret templates",
      server(
        http(
          {
            url: "https://api.example.com/users/{id}?v=2",
            headers: { Authorization: "Bearer {secret.API_KEY}", "X-Page": "{page}" },
            query: { page: "{page}", key: "{secret.QUERY_KEY}" },
          },
          { response: { pointer: "/data/0/name~1x~0y" } },
        ),
      ),
    ],
    [
      "an http POST with a JSON body of templates",
      server(
        http({ method: "POST", url: "https://api.example.com:8443/users", body: { id: "{id}", n: [1, "p{page}"] } }),
      ),
    ],
    [
      'the whole response (pointer "")',
      server(http({ url: "https://a.example.com/{id}" }, { response: { pointer: "" } })),
    ],
    [
      "a prompt with a system prompt, literal braces and a token budget",
      server({
        kind: "prompt",
        name: "summarize",
        description: "Summarizes",
        params: { text: { type: "string" }, tone: { type: "string", enum: ["dry", "warm"] } },
        template: 'Summarize {text} as {{"summary": ...}}',
        system: "Be {tone}.",
        maxTokens: 4096,
      }),
    ],
    [
      "enums of each type",
      server({
        kind: "static",
        name: "e",
        description: "d",
        params: { n: { type: "number", enum: [1.5, 2] }, i: { type: "integer", enum: [1, 2] } },
        result: 1,
      }),
    ],
  ];
  it.each(good)("%s", (_, input) => {
    expect(problems(input)).toEqual([]);
  });

  it("fills in GET and no parameters", () => {
    const parsed = declarativeServer.parse(
      server({ kind: "http", name: "x", description: "d", request: { url: "https://a.example.com/" } }),
    );
    expect(parsed.tools[0]).toMatchObject({ params: {}, request: { method: "GET" } });
  });
});

describe("declarativeServer refuses", () => {
  const bad: [string, unknown, RegExp][] = [
    [
      "an unknown kind",
      server({ kind: "code", name: "x", description: "d" }),
      /^tools\.0 \(x\)\.kind: kind must be "static", "http" or "prompt"$/,
    ],
    [
      "a bad tool name",
      server({ kind: "static", name: "no spaces", description: "d", result: 1 }),
      /tools\.0 \(no spaces\)\.name: tool names are/,
    ],
    [
      "no description",
      server({ kind: "static", name: "x", description: "", result: 1 }),
      /description: a description is required/,
    ],
    ["no tools", server(), /^tools: at least one tool$/],
    [
      "two tools named alike",
      server(
        { kind: "static", name: "Faq", description: "d", result: 1 },
        { kind: "static", name: "faq", description: "d", result: 1 },
      ),
      /tools\.1 \(faq\)\.name: the name faq is also tools\.0's/,
    ],
    [
      "an unknown field",
      server({ kind: "static", name: "x", description: "d", result: 1, code: "x" }),
      /Unrecognized key: "code"/,
    ],
    [
      "a static without a result",
      server({ kind: "static", name: "x", description: "d" }),
      /result: result is required/,
    ],
    [
      "a static result too large",
      server({ kind: "static", name: "x", description: "d", result: "x".repeat(DECLARATIVE_LIMITS.maxJsonBytes) }),
      /result: result is \d+ bytes of JSON \(at most 65536\)/,
    ],
    [
      "a static result nested too deep",
      server({ kind: "static", name: "x", description: "d", result: JSON.parse(`${"[".repeat(40)}${"]".repeat(40)}`) }),
      /result: result: nested deeper than 32 levels/,
    ],
    [
      "a parameter name that is not an identifier",
      server({ kind: "static", name: "x", description: "d", params: { "a-b": { type: "string" } }, result: 1 }),
      /params\.a-b: parameter names are/,
    ],
    [
      "a parameter type outside the set",
      server({ kind: "static", name: "x", description: "d", params: { a: { type: "object" } }, result: 1 }),
      /params\.a\.type: type must be one of string, number, integer, boolean/,
    ],
    [
      "an enum on a boolean",
      server({
        kind: "static",
        name: "x",
        description: "d",
        params: { a: { type: "boolean", enum: [true] } },
        result: 1,
      }),
      /params\.a\.enum/,
    ],
    [
      "a string enum of numbers",
      server({ kind: "static", name: "x", description: "d", params: { a: { type: "string", enum: [1] } }, result: 1 }),
      /the enum of a string parameter lists strings/,
    ],
    [
      "an integer enum of fractions",
      server({
        kind: "static",
        name: "x",
        description: "d",
        params: { a: { type: "integer", enum: [1.5] } },
        result: 1,
      }),
      /the enum of an integer parameter lists integers/,
    ],
    [
      "a repeated enum value",
      server({
        kind: "static",
        name: "x",
        description: "d",
        params: { a: { type: "string", enum: ["a", "a"] } },
        result: 1,
      }),
      /the enum lists a value twice/,
    ],
    [
      "too many parameters",
      server({
        kind: "static",
        name: "x",
        description: "d",
        params: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`p${i}`, { type: "string" }])),
        result: 1,
      }),
      /params: at most 32 parameters/,
    ],
    [
      "plain http",
      server(http({ url: "http://api.example.com/{id}" })),
      /request\.url: the URL must start with https:\/\//,
    ],
    [
      "a placeholder in the host",
      server(http({ url: "https://{id}.example.com/" })),
      /request\.url: the host cannot contain placeholders/,
    ],
    [
      "an IP address as host",
      server(http({ url: "https://127.0.0.1/{id}" })),
      /request\.url: the host must be a DNS name like api\.example\.com \(not 127\.0\.0\.1\)/,
    ],
    [
      "credentials in the URL",
      server(http({ url: "https://u:p@api.example.com/{id}" })),
      /credentials in the URL are not allowed/,
    ],
    ["a fragment", server(http({ url: "https://api.example.com/{id}#top" })), /the URL cannot have a #fragment/],
    [
      "an undeclared parameter",
      server(http({ url: "https://api.example.com/{user}" })),
      /request\.url: \{user\} is not a declared parameter \(the parameters are id, page\)/,
    ],
    [
      "an optional parameter in the URL",
      server(http({ url: "https://api.example.com/{id}/{page}" })),
      /\{page\} is optional, so it cannot be part of the URL/,
    ],
    [
      "a secret in the URL",
      server(http({ url: "https://api.example.com/{secret.KEY}" })),
      /request\.url: \{secret\.KEY\}: secrets may be used only in http headers and query/,
    ],
    [
      "a secret in the body",
      server(http({ method: "POST", url: "https://api.example.com/", body: { k: "{secret.KEY}" } })),
      /request\.body\.k: \{secret\.KEY\}: secrets may be used only/,
    ],
    [
      "a body on a GET",
      server(http({ url: "https://api.example.com/", body: { a: 1 } })),
      /request\.body: a GET request has no body/,
    ],
    [
      "an unknown method",
      server(http({ method: "TRACE", url: "https://api.example.com/" })),
      /request\.method: method must be one of GET, POST, PUT, PATCH, DELETE/,
    ],
    [
      "a transport header",
      server(http({ url: "https://api.example.com/", headers: { Host: "evil.example" } })),
      /request\.headers\.Host: Host is set by the transport/,
    ],
    [
      "an empty query parameter name",
      server(http({ url: "https://api.example.com/", query: { "": "x" } })),
      /request\.query\.: query parameter names are 1-128 characters/,
    ],
    [
      "a bad header name",
      server(http({ url: "https://api.example.com/", headers: { "Bad Header": "x" } })),
      /not a valid header name/,
    ],
    [
      "a lone brace in a header",
      server(http({ url: "https://api.example.com/", headers: { A: "{ x" } })),
      /request\.headers\.A: "\{" at character 1 does not start a placeholder/,
    ],
    [
      "a lowercase secret name",
      server(http({ url: "https://api.example.com/", headers: { A: "{secret.key}" } })),
      /does not start a placeholder/,
    ],
    [
      "a lone closing brace",
      server(http({ url: "https://api.example.com/", query: { q: "a}" } })),
      /request\.query\.q: a lone "\}" at character 2/,
    ],
    [
      "a pointer without its slash",
      server(http({ url: "https://api.example.com/" }, { response: { pointer: "data" } })),
      /response\.pointer: a JSON pointer \(RFC 6901\)/,
    ],
    [
      "a pointer with a bad escape",
      server(http({ url: "https://api.example.com/" }, { response: { pointer: "/a~2" } })),
      /response\.pointer: a JSON pointer/,
    ],
    [
      "a secret in a prompt",
      server({ kind: "prompt", name: "p", description: "d", template: "{secret.KEY}" }),
      /template: \{secret\.KEY\}: secrets may be used only/,
    ],
    [
      "an undeclared parameter in a system prompt",
      server({ kind: "prompt", name: "p", description: "d", template: "x", system: "{who}" }),
      /system: \{who\} is not a declared parameter \(the tool declares no parameters\)/,
    ],
    [
      "too many tokens",
      server({ kind: "prompt", name: "p", description: "d", template: "x", maxTokens: 4097 }),
      /maxTokens/,
    ],
    [
      "too many tools",
      server(...Array.from({ length: 65 }, (_, i) => ({ kind: "static", name: `t${i}`, description: "d", result: 1 }))),
      /^tools: at most 64 tools$/,
    ],
    [
      "a server too large in all",
      server(
        ...Array.from({ length: 3 }, (_, i) => ({
          kind: "static",
          name: `t${i}`,
          description: "d",
          result: "x".repeat(60_000),
        })),
      ),
      /^the server: the server is \d+ bytes of JSON \(at most 131072\)$/,
    ],
  ];
  it.each(bad)("%s", (_, input, message) => {
    const found = problems(input);
    expect(
      found.some((line) => message.test(line)),
      found.join("\n"),
    ).toBe(true);
  });
});

describe("parseTemplate", () => {
  const rows: [string, TemplatePart[] | RegExp][] = [
    ["plain", [{ text: "plain" }]],
    ["", []],
    ["a {b} c", [{ text: "a " }, { param: "b" }, { text: " c" }]],
    ["{secret.API_KEY}{id}", [{ secret: "API_KEY" }, { param: "id" }]],
    ["{{literal}} }}", [{ text: "{literal} }" }]],
    ["{{{id}}}", [{ text: "{" }, { param: "id" }, { text: "}" }]],
    ["{", /"\{" at character 1 does not start a placeholder/],
    ["{1abc}", /does not start a placeholder/],
    ["{secret}", [{ param: "secret" }]],
    ["{secret.}", /does not start a placeholder/],
    ["{a b}", /does not start a placeholder/],
    ["x}", /a lone "\}" at character 2/],
  ];
  it.each(rows)("%j", (template, expected) => {
    const parsed = parseTemplate(template);
    if (expected instanceof RegExp) {
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.error).toMatch(expected);
    } else expect(parsed).toEqual({ ok: true, parts: expected });
  });
});
