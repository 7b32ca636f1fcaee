import type { Tool } from "@anthropic-ai/sdk/resources/messages";
import { injectionMarkers } from "@isola/sandbox";
import { type BuildPlan, buildPlan, type ServerSource } from "@isola/schema";
import { z } from "zod";

// The two tools through which the model answers: submit_plan (the plan step) and write_files
// (the code step). Each has the JSON Schema the model sees and the zod schema its input must
// pass; a failure becomes the words of the corrective retry.

export interface OutputTool<T> {
  definition: Tool;
  /** The parsed value, or what was wrong with the input, one problem per line. */
  read(input: unknown): { ok: true; value: T } | { ok: false; problems: string };
}

/** Bounds on generated sources (the compiler checks the same, and more, again). */
export const SOURCE_BOUNDS = { maxFiles: 50, maxFileBytes: 256 * 1024, maxSourceBytes: 1024 * 1024 };

const SAFE_PATH = /^[A-Za-z0-9_-][A-Za-z0-9_./-]*\.ts$/;

/** Why a path is not one the compiler takes, or undefined when it is. */
function pathProblem(path: string): string | undefined {
  if (!SAFE_PATH.test(path)) return "file paths are relative and end in .ts (letters, digits, _ - . /)";
  if (path.split("/").some((part) => part === "." || part === ".." || part === "")) {
    return "file paths have no ., .. or empty segments";
  }
  if (path.endsWith(".d.ts")) return "declaration files (.d.ts) are not accepted";
  return undefined;
}

const writeFilesInput = z
  .object({ files: z.record(z.string(), z.string().min(1, "a file is empty").max(SOURCE_BOUNDS.maxFileBytes)) })
  .strict()
  .superRefine(({ files }, ctx) => {
    const paths = Object.keys(files);
    for (const path of paths) {
      const message = pathProblem(path);
      if (message) ctx.addIssue({ code: "custom", path: ["files", path], message });
    }
    if (!paths.includes("index.ts")) {
      ctx.addIssue({ code: "custom", path: ["files"], message: "index.ts (the entry point) is missing" });
    }
    if (paths.length > SOURCE_BOUNDS.maxFiles) {
      ctx.addIssue({ code: "custom", path: ["files"], message: `at most ${SOURCE_BOUNDS.maxFiles} files` });
    }
    const bytes = Object.values(files).reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    if (bytes > SOURCE_BOUNDS.maxSourceBytes) {
      const message = `${bytes} bytes of source in all (at most ${SOURCE_BOUNDS.maxSourceBytes})`;
      ctx.addIssue({ code: "custom", path: ["files"], message });
    }
  });

/**
 * The plan's texts that become descriptions the models calling the server read (the compiler
 * scans the code's the same way): where each sits, and whose it is.
 */
function descriptions(plan: BuildPlan): [(string | number)[], string, string][] {
  return [
    [["server", "description"], "the server's description", plan.server.description],
    ...plan.tools.flatMap((tool, i): [(string | number)[], string, string][] => [
      [["tools", i, "description"], `the description of ${tool.name}`, tool.description],
      ...tool.params.map((param, j): [(string | number)[], string, string] => [
        ["tools", i, "params", j, "description"],
        `the description of ${tool.name}'s ${param.name}`,
        param.description,
      ]),
    ]),
    ...plan.resources.map((r, i): [(string | number)[], string, string] => [
      ["resources", i, "description"],
      `the description of resource ${r.name}`,
      r.description,
    ]),
    ...plan.prompts.map((p, i): [(string | number)[], string, string] => [
      ["prompts", i, "description"],
      `the description of prompt ${p.name}`,
      p.description,
    ]),
  ];
}

/** A plan whose names are unique and whose descriptions carry no instructions to other models, on top of the shape. */
const checkedPlan = buildPlan.superRefine((plan, ctx) => {
  for (const [path, whose, text] of descriptions(plan)) {
    for (const reason of injectionMarkers(text)) {
      const message = `${whose} ${reason}: descriptions are read by the models that call the tools, and may not instruct them`;
      ctx.addIssue({ code: "custom", path, message });
    }
  }
  const duplicates = (names: string[]) => names.filter((name, i) => names.indexOf(name) !== i);
  for (const [list, names] of [
    ["tools", plan.tools.map((t) => t.name)],
    ["secrets", plan.secrets.map((s) => s.name)],
    ["questions", plan.questions.map((q) => q.id)],
  ] as const) {
    for (const name of new Set(duplicates(names))) {
      ctx.addIssue({ code: "custom", path: [list], message: `${JSON.stringify(name)} appears more than once` });
    }
  }
});

/** zod issues as lines "path: message", at most 20. */
export function describeIssues(error: z.ZodError): string {
  const lines = error.issues.slice(0, 20).map((issue) => `${issue.path.join(".") || "(input)"}: ${issue.message}`);
  if (error.issues.length > 20) lines.push(`... and ${error.issues.length - 20} more`);
  return lines.join("\n");
}

function reader<T>(schema: z.ZodType<T>): OutputTool<T>["read"] {
  return (input) => {
    const parsed = schema.safeParse(input);
    return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problems: describeIssues(parsed.error) };
  };
}

function inputSchema(schema: z.ZodType): Tool.InputSchema {
  const { $schema: _, ...json } = z.toJSONSchema(schema) as Record<string, unknown>;
  return json as Tool.InputSchema;
}

export const planTool: OutputTool<BuildPlan> = {
  definition: {
    name: "submit_plan",
    description:
      "Submits the plan of the MCP server: what it does, its tools, resources and prompts, the secrets and " +
      "network hosts it needs, and the questions for the user. Call it exactly once, with the whole plan.",
    input_schema: inputSchema(buildPlan),
  },
  read: reader(checkedPlan),
};

export const writeFilesTool: OutputTool<ServerSource> = {
  definition: {
    name: "write_files",
    description:
      "Writes every source file of the server: a map from relative path (index.ts is the entry point) to the " +
      "file's full TypeScript text. Call it exactly once, with all files, unchanged ones included.",
    input_schema: {
      type: "object",
      properties: {
        files: {
          type: "object",
          description: 'Relative path (e.g. "index.ts", "lib/api.ts") to the complete text of that file.',
          additionalProperties: { type: "string" },
        },
      },
      required: ["files"],
      additionalProperties: false,
    },
  },
  read: (input) => {
    const result = reader(writeFilesInput)(input);
    return result.ok ? { ok: true, value: result.value.files } : result;
  },
};
