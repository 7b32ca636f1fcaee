import type { BuildPlan, CompileDiagnostic, Manifest } from "@isola/schema";
import type { TrialCall } from "../deps.ts";

// The build's smoke run: after the checks, each tool the plan marks safe to call is called once
// with the plan's example input, in a sandbox, before the version is stored. A tool that crashes,
// hangs, refuses its own example or answers a malformed result sends its code back for repair. A
// tool whose upstream cannot be reached from here is skipped, not failed: that says nothing of the code.

export interface SmokeCase {
  tool: string;
  input: Record<string, unknown>;
}

/** The calls to make: tools the plan marks safe, with an example input, that the code defines. */
export function smokeCases(plan: BuildPlan, manifest: Manifest): SmokeCase[] {
  const defined = new Set(manifest.tools.map((tool) => tool.name));
  return plan.tools.flatMap((tool) =>
    tool.safeToCall && tool.exampleInput && defined.has(tool.name)
      ? [{ tool: tool.name, input: tool.exampleInput }]
      : [],
  );
}

export type SmokeVerdict =
  | { kind: "passed" }
  | { kind: "skipped"; reason: string }
  | { kind: "failed"; reason: string };

/** What a finished call (its result, or what it threw) says about the code. */
export function smokeVerdict(outcome: { result: unknown } | { error: unknown }): SmokeVerdict {
  if ("error" in outcome) {
    const message = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    return { kind: "failed", reason: message };
  }
  const result = outcome.result as { content?: unknown; isError?: unknown } | null;
  if (typeof result !== "object" || result === null || !Array.isArray(result.content)) {
    return { kind: "failed", reason: "the tool returned a result that is not a valid MCP result" };
  }
  if (result.isError !== true) return { kind: "passed" };
  const text = result.content
    .map((part) => (typeof part === "object" && part !== null && "text" in part ? String(part.text) : ""))
    .join(" ")
    .slice(0, 500);
  // The sandbox's egress catalogue: "egress failed" is the network's doing (DNS, connection, TLS,
  // timeout); "egress refused" is the code's (a host it may not reach), and fails like any error.
  if (/egress failed: /.test(text)) return { kind: "skipped", reason: text };
  return { kind: "failed", reason: text || "the tool answered an error without a message" };
}

export interface SmokeReport {
  passed: string[];
  skipped: { tool: string; reason: string }[];
  errors: CompileDiagnostic[];
}

/** Runs the cases one after the other (a build's tools share one isolate; order keeps it simple). */
export async function runSmoke(cases: SmokeCase[], call: (smoke: SmokeCase) => Promise<unknown>): Promise<SmokeReport> {
  const report: SmokeReport = { passed: [], skipped: [], errors: [] };
  for (const smoke of cases) {
    const verdict = smokeVerdict(
      await call(smoke).then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      ),
    );
    if (verdict.kind === "passed") report.passed.push(smoke.tool);
    else if (verdict.kind === "skipped") report.skipped.push({ tool: smoke.tool, reason: verdict.reason });
    else {
      report.errors.push({
        step: "smoke",
        file: "",
        line: 0,
        column: 0,
        message: `${smoke.tool}, called with its example input ${JSON.stringify(smoke.input).slice(0, 200)}: ${verdict.reason}`,
      });
    }
  }
  return report;
}

export type { TrialCall };
