// ctx.llm on the host side: the supervisor answers a tool's completion requests with the
// function the composition root gave it (which model, which key, metering are its business),
// within limits per tool call. The guest's request is untrusted JSON: parsed here.

export interface LlmRequest {
  prompt: string;
  system?: string;
  maxTokens: number;
}

export interface LlmResult {
  text: string;
  usage: { inputTokens: number; outputTokens: number };
}

/** Who asks; `signal` aborts when the tool call ends, is cancelled, or the request times out. */
export interface LlmCaller {
  serverId: string;
  orgId?: string;
  signal: AbortSignal;
}

/** Answers one completion; rejects with a message tool code may read (never a key or a host internal). */
export type LlmComplete = (request: LlmRequest, caller: LlmCaller) => Promise<LlmResult>;

export interface LlmLimits {
  /** Completions one tool call may ask for. */
  maxCallsPerCall: number;
  /** The most a request may ask for, and what it gets when it does not say. */
  maxTokens: number;
  defaultMaxTokens: number;
  maxPromptChars: number;
  maxSystemChars: number;
  timeoutMs: number;
}

export const DEFAULT_LLM_LIMITS: LlmLimits = {
  maxCallsPerCall: 5,
  maxTokens: 4096,
  defaultMaxTokens: 1024,
  maxPromptChars: 100_000,
  maxSystemChars: 20_000,
  timeoutMs: 30_000,
};

export const NO_LLM_MESSAGE =
  "ctx.llm is not available: this Isola instance has no model configured (the operator sets ANTHROPIC_API_KEY)";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The guest's request, checked; or why it is refused, in words for the tool's author. */
export function parseLlmRequest(raw: unknown, limits: LlmLimits): { request: LlmRequest } | { error: string } {
  if (!isObject(raw)) return { error: "ctx.llm.complete() expects { prompt, system?, maxTokens? }" };
  const { prompt, system, maxTokens } = raw;
  if (typeof prompt !== "string" || prompt.length === 0) return { error: "prompt must be a non-empty string" };
  if (prompt.length > limits.maxPromptChars) {
    return { error: `the prompt is ${prompt.length} characters (at most ${limits.maxPromptChars})` };
  }
  if (system !== undefined && typeof system !== "string") return { error: "system must be a string when given" };
  if (typeof system === "string" && system.length > limits.maxSystemChars) {
    return { error: `the system prompt is ${system.length} characters (at most ${limits.maxSystemChars})` };
  }
  if (maxTokens !== undefined && (!Number.isSafeInteger(maxTokens) || (maxTokens as number) < 1)) {
    return { error: "maxTokens must be a positive integer" };
  }
  if (typeof maxTokens === "number" && maxTokens > limits.maxTokens) {
    return { error: `maxTokens is at most ${limits.maxTokens}` };
  }
  return {
    request: {
      prompt,
      ...(system === undefined || system === "" ? {} : { system }),
      maxTokens: (maxTokens as number | undefined) ?? limits.defaultMaxTokens,
    },
  };
}

/** Only the documented shape goes back to tool code, whatever the function returned. */
function cleanResult(result: LlmResult): LlmResult {
  const count = (n: unknown) => (typeof n === "number" && Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0);
  return {
    text: String(result?.text ?? ""),
    usage: { inputTokens: count(result?.usage?.inputTokens), outputTokens: count(result?.usage?.outputTokens) },
  };
}

/**
 * The completions of one tool call: counted, bounded in time, and all aborted by end() (the
 * call finished) or by the call's own signal (the client cancelled).
 */
export function llmForCall(
  complete: LlmComplete | undefined,
  limits: LlmLimits,
  call: { serverId: string; orgId?: string; signal?: AbortSignal },
): { complete(raw: unknown): Promise<LlmResult>; end(): void } {
  const ended = new AbortController();
  let calls = 0;
  return {
    async complete(raw) {
      if (!complete) throw new Error(NO_LLM_MESSAGE);
      if (++calls > limits.maxCallsPerCall) {
        throw new Error(`ctx.llm: at most ${limits.maxCallsPerCall} completions per tool call`);
      }
      const parsed = parseLlmRequest(raw, limits);
      if ("error" in parsed) throw new Error(`ctx.llm: ${parsed.error}`);
      const timeout = AbortSignal.timeout(limits.timeoutMs);
      const signal = AbortSignal.any([ended.signal, timeout, ...(call.signal ? [call.signal] : [])]);
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () =>
          reject(
            new Error(
              timeout.aborted
                ? `ctx.llm: no answer within ${limits.timeoutMs} ms`
                : "ctx.llm: the request was cancelled with its tool call",
            ),
          );
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      });
      // The answer or the abort, whichever is first: a function that ignores its signal still lets go.
      const answer = complete(parsed.request, {
        serverId: call.serverId,
        ...(call.orgId ? { orgId: call.orgId } : {}),
        signal,
      });
      answer.catch(() => {});
      try {
        return cleanResult(await Promise.race([answer, aborted]));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        throw new Error(message.slice(0, 1000));
      }
    },
    end: () => ended.abort(),
  };
}
