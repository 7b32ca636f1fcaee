// What changed in a server's tools between two versions, by tool name: what a client that
// listed the tools before would see differently now. Pure, for the Versions tab.

/** The parts of a manifest tool this compares (ManifestTool from @isola/schema fits). */
export interface ToolShape {
  name: string;
  title?: string | undefined;
  description: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown> | undefined;
  annotations?: Record<string, unknown> | undefined;
  scopes?: string[] | undefined;
}

/** The aspects of a tool that can change, in the order they are reported. */
export const TOOL_ASPECTS = ["title", "description", "inputSchema", "outputSchema", "annotations", "scopes"] as const;
export type ToolAspect = (typeof TOOL_ASPECTS)[number];

export interface ChangedTool {
  name: string;
  changes: ToolAspect[];
  before: ToolShape;
  after: ToolShape;
}

export interface ToolDiff {
  added: ToolShape[];
  removed: ToolShape[];
  changed: ChangedTool[];
  /** Names of the tools that are the same in both. */
  unchanged: string[];
}

/** JSON with object keys sorted, so that two schemas differing only in key order compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : inner,
  );
}

/** Scopes are a set: their order does not matter; none and an empty list are the same. */
function aspectValue(tool: ToolShape, aspect: ToolAspect): string {
  if (aspect === "scopes") return canonicalJson([...(tool.scopes ?? [])].sort());
  if (aspect === "annotations") return canonicalJson(tool.annotations ?? {});
  return canonicalJson(tool[aspect] ?? null);
}

const byName = (a: ToolShape, b: ToolShape) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export function diffTools(before: readonly ToolShape[], after: readonly ToolShape[]): ToolDiff {
  const old = new Map(before.map((tool) => [tool.name, tool]));
  const now = new Map(after.map((tool) => [tool.name, tool]));
  const diff: ToolDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const tool of [...now.values()].sort(byName)) {
    const previous = old.get(tool.name);
    if (!previous) {
      diff.added.push(tool);
      continue;
    }
    const changes = TOOL_ASPECTS.filter((aspect) => aspectValue(previous, aspect) !== aspectValue(tool, aspect));
    if (changes.length === 0) diff.unchanged.push(tool.name);
    else diff.changed.push({ name: tool.name, changes, before: previous, after: tool });
  }
  diff.removed = [...old.values()].filter((tool) => !now.has(tool.name)).sort(byName);
  return diff;
}

/** Words for an aspect, as the page lists them ("input schema changed"). */
export const ASPECT_LABELS: Record<ToolAspect, string> = {
  title: "title",
  description: "description",
  inputSchema: "input schema",
  outputSchema: "output schema",
  annotations: "annotations",
  scopes: "required scopes",
};
