import type { BuildPlan, CompileDiagnostic, ConfirmBuildBody, Manifest, ServerSource } from "@isola/schema";

// What the build pipeline asks of a language model, and nothing else: the runner (../runner.ts)
// does not know which API or model answers. The Anthropic implementation is anthropic-model.ts.

/** Tokens and time one model request took, reported in the build's events. */
export interface ModelUsage {
  model: string;
  inputTokens: number;
  outputTokens: number;
  ms: number;
  /** Attempts it took (1 when the first answered). */
  attempts: number;
}

/** What a request reports while it runs: text as it streams, and each retry. */
export interface ModelProgress {
  /** Model output as it streams: text, and the raw JSON of the answering tool call. */
  onText?(delta: string): void;
  /** `attempt` (1-based) failed for `reason`; the next starts after `delayMs`. */
  onRetry?(attempt: number, reason: string, delayMs: number): void;
  signal?: AbortSignal;
}

/** The server a build iterates on (absent for a new server). */
export interface CurrentServer {
  manifest: Manifest;
  source: ServerSource;
}

export interface PlanRequest {
  prompt: string;
  current?: CurrentServer;
}

export interface CodeRequest {
  prompt: string;
  plan: BuildPlan;
  answers: ConfirmBuildBody["answers"];
  /** Hosts the user approved at confirm: the only ones the code may fetch. */
  approvedEgress: string[];
  /** Names of the secrets the code may read (their values never reach the model). */
  secretNames: string[];
  current?: CurrentServer;
  /** The previous round's files and what was wrong with them (a repair round). */
  repair?: { files: ServerSource; errors: CompileDiagnostic[] };
}

export interface BuildModel {
  plan(request: PlanRequest, progress?: ModelProgress): Promise<{ plan: BuildPlan; usage: ModelUsage }>;
  code(request: CodeRequest, progress?: ModelProgress): Promise<{ files: ServerSource; usage: ModelUsage }>;
}

/** Why a model request failed for good (after retries): shown to the user as the build's error. */
export class ModelError extends Error {
  /** `rejected`: the API refused the request itself (400, 403, 404, 413: a model id or a prompt it will not take). */
  readonly kind:
    | "no-key"
    | "rate-limited"
    | "unavailable"
    | "timeout"
    | "invalid-output"
    | "refused"
    | "rejected"
    | "cancelled";
  constructor(kind: ModelError["kind"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelError";
    this.kind = kind;
  }
}
