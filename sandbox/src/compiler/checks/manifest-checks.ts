import { type CompileDiagnostic, manifest as manifestSchema, TOOL_NAME } from "@isola/schema";
import { injectionMarkers } from "./injection.ts";

const problem = (step: "manifest" | "injection", where: string, message: string): CompileDiagnostic => ({
  step,
  file: "",
  line: 0,
  column: 0,
  message: `${where}: ${message}`,
});

/** Every description-like string in a JSON Schema, with its path ("city", "days[].date"). */
function schemaTexts(schema: unknown, path = ""): [string, string][] {
  if (typeof schema !== "object" || schema === null) return [];
  const node = schema as Record<string, unknown>;
  const own = (["description", "title"] as const)
    .filter((key) => typeof node[key] === "string")
    .map((key): [string, string] => [path || "(the input)", node[key] as string]);
  const children = Object.entries(node).flatMap(([key, value]) => {
    if (key === "properties" && typeof value === "object" && value !== null) {
      return Object.entries(value).flatMap(([name, sub]) => schemaTexts(sub, path ? `${path}.${name}` : name));
    }
    if (key === "items" || key === "additionalProperties") return schemaTexts(value, `${path}[]`);
    if (Array.isArray(value) && ["anyOf", "oneOf", "allOf", "prefixItems"].includes(key)) {
      return value.flatMap((sub) => schemaTexts(sub, path));
    }
    return [];
  });
  return [...own, ...children];
}

/**
 * Checks the manifest the code declared: its shape, names, secrets and egress hosts, and
 * the text a model will read. Returns the parsed manifest when it is well formed.
 */
export function checkManifest(raw: unknown): {
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
    for (const item of list ?? []) {
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
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.join(".") || "the server";
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
    ["the server description", manifest.description ?? ""],
    ...manifest.tools.flatMap((t): [string, string][] => [
      [`tool ${t.name} description`, t.description],
      [`tool ${t.name} title`, t.title ?? ""],
      ...schemaTexts(t.inputSchema).map(([path, text]): [string, string] => [`tool ${t.name} parameter ${path}`, text]),
      ...schemaTexts(t.outputSchema).map(([path, text]): [string, string] => [`tool ${t.name} output ${path}`, text]),
    ]),
    ...manifest.resources.map((r): [string, string] => [`resource ${r.name} description`, r.description ?? ""]),
    ...manifest.prompts.flatMap((p): [string, string][] => [
      [`prompt ${p.name} description`, p.description ?? ""],
      ...p.arguments.map((a): [string, string] => [`prompt ${p.name} argument ${a.name}`, a.description ?? ""]),
    ]),
  ];
  for (const [where, text] of texts) {
    for (const reason of injectionMarkers(text)) problems.push(problem("injection", where, reason));
  }
  return problems.length ? { problems } : { problems, manifest };
}
