// A build's events (GET /api/v1/builds/{id}/events) as what the wizard shows: the steps and how
// far each got, one line per fact, the model's latest text, tokens and time. Pure: the loader's
// history and the live stream go through the same fold, and the tests feed it tables of events.

/** One stored event, as the API sends it (JSON list or an SSE message's data). */
export interface BuildEventInput {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at?: string;
}

/** Every event type a build writes (docs/API.md): an EventSource listens to each by name. */
export const BUILD_EVENT_TYPES = [
  "queued",
  "step",
  "model.text",
  "model.retry",
  "plan",
  "waiting",
  "confirmed",
  "code",
  "smoke",
  "check.failed",
  "check.passed",
  "version",
  "deployed",
  "resumed",
  "succeeded",
  "failed",
  "cancelled",
] as const;

export const STEP_NAMES = ["plan", "confirm", "code", "check", "version", "deploy"] as const;
export type StepName = (typeof STEP_NAMES)[number];
export type StepStatus = "pending" | "running" | "done" | "failed";

const STEP_LABELS: Record<StepName, string> = {
  plan: "Plan",
  confirm: "Confirm",
  code: "Write code",
  check: "Check",
  version: "Version",
  deploy: "Deploy",
};

export interface StepView {
  name: StepName;
  label: string;
  status: StepStatus;
}

export type LineTone = "info" | "ok" | "warn" | "error";

export interface EventLine {
  seq: number;
  tone: LineTone;
  text: string;
  /** Compiler or smoke errors, one per line (file:line:col message). */
  details?: string[];
}

export type BuildPhase = "queued" | "planning" | "waiting" | "building" | "succeeded" | "failed" | "cancelled";

export interface BuildProgress {
  lastSeq: number;
  phase: BuildPhase;
  steps: StepView[];
  round: number;
  lines: EventLine[];
  /** The model's output in the current request (its tail: the page shows it as it streams). */
  modelText: string;
  tokens: { input: number; output: number };
  /** Time the model requests took, summed. */
  modelMs: number;
  url: string | null;
  /** The last check's errors, formatted. */
  errors: string[];
  failure: string | null;
}

export const MODEL_TEXT_TAIL = 4000;

export function emptyProgress(): BuildProgress {
  return {
    lastSeq: 0,
    phase: "queued",
    steps: STEP_NAMES.map((name) => ({ name, label: STEP_LABELS[name], status: "pending" })),
    round: 0,
    lines: [],
    modelText: "",
    tokens: { input: 0, output: 0 },
    modelMs: 0,
    url: null,
    errors: [],
    failure: null,
  };
}

interface Diagnostic {
  step?: unknown;
  file?: unknown;
  line?: unknown;
  column?: unknown;
  message?: unknown;
}

/** A compiler diagnostic as a person reads it: `index.ts:12:5 message`, or `[step] message` when it has no place. */
export function formatDiagnostic(diagnostic: Diagnostic): string {
  const message = String(diagnostic.message ?? "");
  const line = Number(diagnostic.line ?? 0);
  const file = typeof diagnostic.file === "string" ? diagnostic.file : "";
  if (file && line > 0) return `${file}:${line}:${Number(diagnostic.column ?? 0)} ${message}`;
  if (file) return `${file}: ${message}`;
  return diagnostic.step ? `[${String(diagnostic.step)}] ${message}` : message;
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asNumber = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function usageText(usage: unknown): string {
  const u = (usage ?? {}) as Record<string, unknown>;
  const parts = [`${asNumber(u.inputTokens)} in / ${asNumber(u.outputTokens)} out tokens`, seconds(asNumber(u.ms))];
  if (asNumber(u.attempts) > 1) parts.push(plural(asNumber(u.attempts), "attempt"));
  return parts.join(", ");
}

function withStep(steps: StepView[], name: StepName, status: StepStatus): StepView[] {
  return steps.map((step) => {
    if (step.name === name) return { ...step, status };
    // A step starting means the ones before it are over.
    const before = STEP_NAMES.indexOf(step.name) < STEP_NAMES.indexOf(name);
    if (status === "running" && before && step.status === "running") return { ...step, status: "done" };
    return step;
  });
}

const runningStep = (steps: StepView[]) => steps.find((step) => step.status === "running")?.name;

/** Which wizard step an event's `step` names (smoke runs inside the check, repair is code again). */
function stepOf(step: unknown): StepName | undefined {
  if (step === "repair") return "code";
  if (step === "smoke") return "check";
  return STEP_NAMES.includes(step as StepName) ? (step as StepName) : undefined;
}

/** The progress after one more event; events at or before `lastSeq` change nothing (replays, overlaps). */
export function applyBuildEvent(progress: BuildProgress, event: BuildEventInput): BuildProgress {
  if (event.seq <= progress.lastSeq) return progress;
  const next: BuildProgress = { ...progress, lastSeq: event.seq };
  const data = event.data ?? {};
  const line = (tone: LineTone, text: string, details?: string[]) => {
    next.lines = [...next.lines, { seq: event.seq, tone, text, ...(details?.length ? { details } : {}) }];
  };
  const addUsage = (usage: unknown) => {
    const u = (usage ?? {}) as Record<string, unknown>;
    next.tokens = {
      input: next.tokens.input + asNumber(u.inputTokens),
      output: next.tokens.output + asNumber(u.outputTokens),
    };
    next.modelMs += asNumber(u.ms);
  };

  switch (event.type) {
    case "queued":
      line("info", "Queued: waiting for a worker");
      break;
    case "step": {
      const name = stepOf(data.step);
      if (!name) break;
      const round = asNumber(data.round);
      if (round) next.round = round;
      next.steps = withStep(next.steps, name, "running");
      if (name === "plan") next.phase = "planning";
      else next.phase = "building";
      if (data.step === "code" || data.step === "repair" || data.step === "plan") next.modelText = "";
      const text =
        data.step === "plan"
          ? "Planning the server"
          : data.step === "code"
            ? "Writing the code"
            : data.step === "repair"
              ? `Repair round ${round}: sending the errors back to the model`
              : data.step === "check"
                ? `Checking the code (round ${round})`
                : data.step === "smoke"
                  ? `Calling ${plural(asArray(data.tools).length, "tool")} once to try them`
                  : data.step === "version"
                    ? "Storing the version"
                    : "Deploying";
      line("info", text);
      break;
    }
    case "model.text":
      next.modelText = (next.modelText + String(data.text ?? "")).slice(-MODEL_TEXT_TAIL);
      break;
    case "model.retry":
      line(
        "warn",
        `The model did not answer (${String(data.reason ?? "error")}); attempt ${asNumber(data.attempt) + 1} in ${seconds(asNumber(data.delayMs))}`,
      );
      break;
    case "plan": {
      addUsage(data.usage);
      next.steps = withStep(next.steps, "plan", "done");
      const tools = asArray((data.plan as { tools?: unknown } | undefined)?.tools).length;
      line("ok", `Planned ${plural(tools, "tool")} (${usageText(data.usage)})`);
      break;
    }
    case "waiting":
      next.phase = "waiting";
      next.steps = withStep(withStep(next.steps, "plan", "done"), "confirm", "running");
      line("info", "Waiting for you to confirm the plan");
      break;
    case "confirmed":
      next.phase = "building";
      next.steps = withStep(next.steps, "confirm", "done");
      line("ok", `Confirmed: ${plural(asArray(data.approvedEgress).length, "host")} approved`);
      break;
    case "code":
      addUsage(data.usage);
      line(
        "ok",
        `Wrote ${plural(asArray(data.files).length, "file")}, ${asNumber(data.bytes)} bytes (${usageText(data.usage)})`,
      );
      break;
    case "check.failed": {
      const errors = asArray(data.errors).map((error) => formatDiagnostic(error as Diagnostic));
      next.errors = errors;
      next.steps = withStep(next.steps, "check", "failed");
      line(
        "error",
        `Round ${asNumber(data.round)}: ${plural(errors.length, "problem")} found in ${seconds(asNumber(data.ms))}`,
        errors,
      );
      break;
    }
    case "check.passed":
      next.errors = [];
      next.steps = withStep(withStep(next.steps, "code", "done"), "check", "done");
      line("ok", `Checks passed in ${seconds(asNumber(data.ms))}: ${asArray(data.tools).map(String).join(", ")}`);
      break;
    case "smoke": {
      const passed = asArray(data.passed).length;
      const skipped = asArray(data.skipped) as { tool?: unknown; reason?: unknown }[];
      const failed = asNumber(data.failed);
      const text = `Tried the tools: ${passed} passed, ${skipped.length} skipped, ${failed} failed`;
      line(
        failed > 0 ? "error" : "ok",
        text,
        skipped.map((skip) => `${String(skip.tool)} skipped: ${String(skip.reason)}`),
      );
      break;
    }
    case "version": {
      next.steps = withStep(next.steps, "version", "done");
      const diff = (data.diff ?? {}) as Record<string, unknown>;
      const parts = (["added", "changed", "removed"] as const)
        .map((kind) => [kind, asArray(diff[kind]).map(String)] as const)
        .filter(([, names]) => names.length > 0)
        .map(([kind, names]) => `${kind} ${names.join(", ")}`);
      line("ok", `Version ${asNumber(data.number)} stored${parts.length ? `: ${parts.join("; ")}` : ""}`);
      break;
    }
    case "deployed":
      next.steps = withStep(next.steps, "deploy", "done");
      next.url = typeof data.url === "string" ? data.url : next.url;
      line("ok", `Live at ${next.url ?? "its URL"}`);
      break;
    case "resumed":
      line("warn", "Its node stopped; another node took the build over");
      break;
    case "succeeded":
      next.phase = "succeeded";
      next.steps = next.steps.map((step) => (step.status === "running" ? { ...step, status: "done" } : step));
      line("ok", "Build succeeded");
      break;
    case "failed": {
      next.phase = "failed";
      next.failure = String(data.message ?? "the build failed");
      const errors = asArray(data.errors).map((error) => formatDiagnostic(error as Diagnostic));
      if (errors.length > 0) next.errors = errors;
      const running = runningStep(next.steps);
      if (running) next.steps = withStep(next.steps, running, "failed");
      line("error", `Build failed: ${next.failure}`);
      break;
    }
    case "cancelled":
      next.phase = "cancelled";
      line("warn", "Build cancelled");
      break;
    default:
      break;
  }
  return next;
}

/** The progress a history of events adds up to (in seq order, whatever order they came in). */
export function foldBuildEvents(events: BuildEventInput[], from: BuildProgress = emptyProgress()): BuildProgress {
  return [...events].sort((a, b) => a.seq - b.seq).reduce(applyBuildEvent, from);
}
