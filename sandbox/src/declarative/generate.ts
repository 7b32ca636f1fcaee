import {
  type DeclarativeParam,
  type DeclarativeServer,
  type DeclarativeTool,
  type HttpTool,
  type JsonValue,
  parseTemplate,
  type TemplatePart,
} from "@isola/schema";
import { HELPERS_SOURCE } from "./guest-helpers.ts";

// Declarative tools -> guest-API TypeScript. Safe by construction: every value from the spec
// enters the code as a JSON literal (JSON.stringify), in a position where a literal is
// expected; names of tools, parameters, headers and body keys are literals too (computed
// keys or array entries), never identifiers. The only code is fixed text: the helpers and
// the zod calls chosen from a closed set of types.

/** The generated module's file name among the server's sources (reserved when a declarative part is given). */
export const DECLARATIVE_FILE = "isola.declarative.ts";

const json = (value: unknown) => JSON.stringify(value);

/** A parameter as zod code: `z.string().describe("...").optional()`. */
export function paramSchemaCode(param: DeclarativeParam): string {
  let code: string;
  if (param.type === "boolean") code = "z.boolean()";
  else if (param.enum)
    code = param.type === "string" ? `z.enum(${json(param.enum)})` : `z.literal(${json(param.enum)})`;
  else code = param.type === "string" ? "z.string()" : param.type === "integer" ? "z.int()" : "z.number()";
  if (param.description !== undefined) code += `.describe(${json(param.description)})`;
  if (param.required === false) code += ".optional()";
  return code;
}

/** The tool's input: `z.object({ "id": z.string() })`; keys in declaration order. */
export function inputSchemaCode(params: Record<string, DeclarativeParam>): string {
  const fields = Object.entries(params).map(([name, param]) => `${json(name)}: ${paramSchemaCode(param)}`);
  return fields.length ? `z.object({ ${fields.join(", ")} })` : "z.object({})";
}

function templateParts(template: string): TemplatePart[] {
  const parsed = parseTemplate(template);
  // The schema refused bad templates already; this is the backstop for a caller that skipped it.
  if (!parsed.ok) throw new Error(`not a valid template: ${parsed.error}`);
  return parsed.parts;
}

/** URL parts, with the parameters that sit in the path (before the first "?") marked as such. */
function urlParts(template: string): unknown[] {
  let inQuery = false;
  return templateParts(template).map((part) => {
    if ("text" in part) {
      inQuery ||= part.text.includes("?");
      return part;
    }
    return "param" in part && !inQuery ? { param: part.param, path: true } : part;
  });
}

function bodyTree(value: JsonValue): unknown {
  if (typeof value === "string") return { s: templateParts(value) };
  if (Array.isArray(value)) return { a: value.map(bodyTree) };
  if (value !== null && typeof value === "object")
    return { o: Object.entries(value).map(([k, v]) => [k, bodyTree(v)]) };
  return { v: value };
}

function httpSpec(tool: HttpTool): unknown {
  const { request } = tool;
  return {
    method: request.method,
    url: urlParts(request.url),
    headers: Object.entries(request.headers ?? {}).map(([name, value]) => [name, templateParts(value)]),
    query: Object.entries(request.query ?? {}).map(([name, value]) => [name, templateParts(value)]),
    ...(request.body === undefined ? {} : { body: bodyTree(request.body) }),
    ...(tool.response?.pointer === undefined ? {} : { pointer: tool.response.pointer }),
  };
}

/** The statement that holds a tool's data, and the expression its run() evaluates. */
function toolData(tool: DeclarativeTool, i: number): { data: string; run: string } {
  const name = `spec${i}`;
  switch (tool.kind) {
    case "static":
      // JSON.parse, not a literal: in a literal, a "__proto__" key would set the prototype instead.
      return { data: `const ${name}: unknown = JSON.parse(${json(json(tool.result))});`, run: `asResult(${name})` };
    case "http":
      return { data: `const ${name}: HttpSpec = ${json(httpSpec(tool))};`, run: `runHttp(${name}, input, ctx)` };
    case "prompt": {
      const spec = {
        template: templateParts(tool.template),
        ...(tool.system === undefined ? {} : { system: templateParts(tool.system) }),
        ...(tool.maxTokens === undefined ? {} : { maxTokens: tool.maxTokens }),
      };
      return { data: `const ${name}: PromptSpec = ${json(spec)};`, run: `runPrompt(${name}, input, ctx)` };
    }
  }
}

/** What the tools need from the server: secrets named in templates, and the hosts of http URLs. */
export function declarativeNeeds(server: DeclarativeServer): { secrets: string[]; egress: string[] } {
  const secrets = new Set<string>();
  const egress = new Set<string>();
  for (const tool of server.tools) {
    if (tool.kind !== "http") continue;
    for (const template of [...Object.values(tool.request.headers ?? {}), ...Object.values(tool.request.query ?? {})]) {
      for (const part of templateParts(template)) if ("secret" in part) secrets.add(part.secret);
    }
    const sample = templateParts(tool.request.url)
      .map((part) => ("text" in part ? part.text : "x"))
      .join("");
    const host = URL.parse(sample)?.hostname;
    if (host) egress.add(host.toLowerCase());
  }
  return { secrets: [...secrets].sort(), egress: [...egress].sort() };
}

/**
 * The module: the helpers, each tool's data, and `tools`, `secrets` and `egress` exports that
 * the compiler merges into the server's defineServer({...}).
 */
export function generateDeclarativeModule(server: DeclarativeServer): string {
  const needs = declarativeNeeds(server);
  const parts = server.tools.map((tool, i) => ({ tool, ...toolData(tool, i) }));
  const entries = parts.map(({ tool, run }) =>
    [
      `  [${json(tool.name)}]: tool({`,
      ...(tool.title === undefined ? [] : [`    title: ${json(tool.title)},`]),
      `    description: ${json(tool.description)},`,
      `    input: ${inputSchemaCode(tool.params)},`,
      `    run: (${tool.kind === "static" ? "" : "input, ctx"}) => ${run},`,
      "  }),",
    ].join("\n"),
  );
  return [
    "// Generated by Isola from declarative tools: edit the declaration, not this file.",
    HELPERS_SOURCE,
    ...parts.map(({ data }) => data),
    "",
    `export const secrets: string[] = ${json(needs.secrets)};`,
    `export const egress: string[] = ${json(needs.egress)};`,
    "export const tools = {",
    ...entries,
    "};",
    "",
  ].join("\n");
}

/** The entry of a server that is only declarative: its name, and no tools of its own. */
export function declarativeEntry(server: DeclarativeServer): string {
  const description = server.description === undefined ? "" : `, description: ${json(server.description)}`;
  return `import { defineServer } from "isola";\n\ndefineServer({ name: ${json(server.name)}${description}, tools: {} });\n`;
}
