import { type CompileDiagnostic, manifest as manifestSchema, type ServerSource, TOOL_NAME } from "@isola/schema";
import { injectionMarkers } from "./injection.ts";
import { checkToolScopes, locateLiteral } from "./scope-checks.ts";

/** Names in `where` come from tool code: invisible and control characters are shown as escapes. */
const visible = (text: string) =>
  text.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);

const problem = (step: "manifest" | "injection", where: string, message: string): CompileDiagnostic => ({
  step,
  file: "",
  line: 0,
  column: 0,
  message: `${visible(where)}: ${message}`,
});

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Every string a model may read in a JSON Schema, with the path it sits at ("city",
 * "days[].date"): descriptions and titles, but also property names, enum values, defaults,
 * examples, whatever `.meta({...})` added (keys too), and shared definitions in `$defs`.
 */
function schemaTexts(node: unknown, path = ""): [string, string][] {
  const where = path || "(top level)";
  if (typeof node === "string") return [[where, node]];
  if (Array.isArray(node)) return node.flatMap((item) => schemaTexts(item, path));
  if (!isObject(node)) return [];
  return Object.entries(node).flatMap(([key, value]): [string, string][] => {
    if (key === "$schema") return [];
    // `required` repeats property names, which are read where they are declared.
    const properties = node.properties;
    if (
      key === "required" &&
      Array.isArray(value) &&
      isObject(properties) &&
      value.every((name) => typeof name === "string" && Object.hasOwn(properties, name))
    ) {
      return [];
    }
    if (
      ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"].includes(key) &&
      isObject(value)
    ) {
      return Object.entries(value).flatMap(([name, sub]): [string, string][] => {
        const child =
          key === "properties" ? (path ? `${path}.${name}` : name) : `${path ? `${path}.` : ""}${key}.${name}`;
        return [[child, name], ...schemaTexts(sub, child)];
      });
    }
    if (key === "items" || key === "prefixItems" || key === "additionalProperties")
      return schemaTexts(value, `${path}[]`);
    return [[where, key], ...schemaTexts(value, path)];
  });
}

/** Every string in a value (annotations, for example), keys included. */
function allTexts(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allTexts);
  if (!isObject(value)) return [];
  return Object.entries(value).flatMap(([key, sub]) => [key, ...allTexts(sub)]);
}

/** The value at a path of an issue, for the message: `secrets.0 "api-key"`. */
function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], raw);
}

/**
 * Checks the manifest the code declared: its shape, names, scopes, secrets and egress hosts,
 * and the text a model will read. Returns the parsed manifest when it is well formed. `files`
 * (the tenant's source) lets a problem with a declared scope point at where it is written.
 */
export function checkManifest(
  raw: unknown,
  files: ServerSource = {},
): {
  problems: CompileDiagnostic[];
  manifest?: ReturnType<typeof manifestSchema.parse>;
} {
  const problems: CompileDiagnostic[] = [];
  const candidate = raw as { tools?: { name?: unknown }[]; prompts?: { name?: unknown }[] };
  for (const [kind, list] of [
    ["tool", candidate?.tools],
    ["prompt", candidate?.prompts],
  ] as const) {
    const seen = new Set<string>();
    // The manifest is JSON from the isolate, where tool code ran first: its shape is not trusted.
    for (const item of Array.isArray(list) ? list : []) {
      const name = String(item?.name);
      if (!TOOL_NAME.test(name)) {
        problems.push(
          problem(
            "manifest",
            `${kind} ${JSON.stringify(name).slice(0, 140)}`,
            "names are 1-128 characters of A-Z a-z 0-9 _ . -",
          ),
        );
      }
      if (seen.has(name.toLowerCase()))
        problems.push(
          problem("manifest", `${kind} ${name}`, "the name is used twice (names must differ ignoring case)"),
        );
      seen.add(name.toLowerCase());
    }
  }
  for (const { where, message, literal } of checkToolScopes(raw)) {
    problems.push({ ...problem("manifest", where, message), ...(literal ? locateLiteral(files, literal) : {}) });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      // A bad tool or prompt name, or a tool's bad scopes, were reported above, in words.
      const [list, , field] = issue.path;
      if ((list === "tools" || list === "prompts") && field === "name" && issue.path.length === 3) continue;
      if (list === "tools" && field === "scopes") continue;
      const value = valueAt(raw, issue.path);
      const where = `${issue.path.join(".") || "the server"}${typeof value === "string" ? ` ${JSON.stringify(value).slice(0, 140)}` : ""}`;
      const hint =
        issue.path[0] === "secrets"
          ? "secret names are UPPER_SNAKE_CASE"
          : issue.path[0] === "egress"
            ? 'egress hosts are names like "api.example.com" or "*.example.com"'
            : issue.message;
      problems.push(problem("manifest", where, hint));
    }
    return { problems };
  }
  const manifest = parsed.data;
  const texts: [string, string][] = [
    ["the server name", manifest.name],
    ["the server version", manifest.version ?? ""],
    ["the server description", manifest.description ?? ""],
    ...manifest.tools.flatMap((t): [string, string][] => [
      [`tool ${t.name} description`, t.description],
      [`tool ${t.name} title`, t.title ?? ""],
      ...allTexts(t.annotations).map((text): [string, string] => [`tool ${t.name} annotations`, text]),
      ...schemaTexts(t.inputSchema).map(([path, text]): [string, string] => [`tool ${t.name} parameter ${path}`, text]),
      ...schemaTexts(t.outputSchema).map(([path, text]): [string, string] => [`tool ${t.name} output ${path}`, text]),
    ]),
    ...manifest.resources.flatMap((r): [string, string][] =>
      allTexts(r).map((text): [string, string] => [`resource ${r.key}`, text]),
    ),
    ...manifest.prompts.flatMap((p): [string, string][] => [
      [`prompt ${p.name} description`, p.description ?? ""],
      [`prompt ${p.name} title`, p.title ?? ""],
      ...p.arguments.flatMap((a): [string, string][] => [
        [`prompt ${p.name} argument ${a.name}`, a.name],
        [`prompt ${p.name} argument ${a.name}`, a.description ?? ""],
      ]),
    ]),
  ];
  const reported = new Set<string>();
  for (const [where, text] of texts) {
    for (const reason of injectionMarkers(text)) {
      const found = problem("injection", where, reason);
      // The same text can be read in two places at one path (a key and its value): report it once.
      if (reported.has(found.message)) continue;
      reported.add(found.message);
      problems.push(found);
    }
  }
  return problems.length ? { problems } : { problems, manifest };
}
