import { setTimeout as delay } from "node:timers/promises";
import Anthropic, { AnthropicError, APIError } from "@anthropic-ai/sdk";
import type {
  ContentBlock,
  ContentBlockParam,
  Message,
  MessageCreateParamsBase,
  MessageParam,
  TextBlockParam,
} from "@anthropic-ai/sdk/resources/messages";
import { type BuildModel, ModelError, type ModelProgress, type ModelUsage } from "./build-model.ts";
import { acceptsForcedToolUse, type BuildModels } from "./model-config.ts";
import { type OutputTool, planTool, writeFilesTool } from "./output-tools.ts";
import {
  codeMessage,
  codeSystem,
  correction,
  type GuestApi,
  missingToolCall,
  PLAN_SYSTEM,
  planMessage,
} from "./prompts.ts";
import {
  AttemptTimeout,
  classifyFailure,
  DEFAULT_RETRY_POLICY,
  type Failure,
  type RetryPolicy,
  retryDelay,
} from "./retry.ts";

// The BuildModel on the Anthropic Messages API: one streamed request per attempt, answered
// through a tool call (submit_plan, write_files) whose input is validated with zod. Retries
// are ours (the SDK's are off), each reported through progress.onRetry; what is left after
// them is a ModelError.

export interface AnthropicModelOptions {
  /** The instance's ANTHROPIC_API_KEY or the org's secret; absent: every request fails with `no-key`. */
  apiKey: string | undefined;
  models: BuildModels;
  guestApi: GuestApi;
  /** Unset: the SDK's own ANTHROPIC_BASE_URL, else api.anthropic.com. */
  baseURL?: string;
  retry?: Partial<RetryPolicy>;
  /** Output budgets per step (adaptive thinking counts against them). */
  maxTokens?: { plan?: number; code?: number };
  /** Injected in tests: waits between attempts, and the jitter. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

const NO_KEY =
  "No Anthropic API key: set ANTHROPIC_API_KEY in the instance's environment, or store the organisation's " +
  "own key (PUT /api/v1/orgs/{org}/model-key, an owner or admin). Templates, declarative tools and code deploys work without one.";

interface ToolRequest<T> {
  tool: OutputTool<T>;
  model: string;
  system: TextBlockParam[];
  user: string;
  maxTokens: number;
}

export function createAnthropicModel(options: AnthropicModelOptions): BuildModel {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  // Cached across requests: the long code prompt (the guest API) is the same every time.
  const codeSystemBlocks: TextBlockParam[] = [
    { type: "text", text: codeSystem(options.guestApi), cache_control: { type: "ephemeral" } },
  ];
  let client: Anthropic | undefined;

  const connect = (): Anthropic => {
    if (!options.apiKey) throw new ModelError("no-key", NO_KEY);
    client ??= new Anthropic({
      apiKey: options.apiKey,
      ...(options.baseURL ? { baseURL: options.baseURL } : {}),
      maxRetries: 0,
      openTelemetry: false,
    });
    return client;
  };

  async function request<T>(
    call: ToolRequest<T>,
    progress: ModelProgress = {},
  ): Promise<{ value: T; usage: ModelUsage }> {
    const anthropic = connect();
    const { signal } = progress;
    const started = now();
    const tokens = { input: 0, output: 0 };
    const first: MessageParam = { role: "user", content: call.user };
    let messages: MessageParam[] = [first];
    let corrected = false;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw cancelled();
      let failure: Failure;
      let cause: unknown;
      try {
        const message = await streamOnce(anthropic, body(call, messages), progress, policy.idleTimeoutMs);
        const { usage } = message;
        tokens.input +=
          usage.input_tokens + (usage.cache_read_input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0);
        tokens.output += usage.output_tokens;
        if (message.stop_reason === "refusal") {
          throw new ModelError("refused", `${call.model} declined to answer this brief (stop reason: refusal)`);
        }
        const answer = readAnswer(call.tool, message);
        if (answer.ok) {
          const ms = now() - started;
          const spent = { model: call.model, inputTokens: tokens.input, outputTokens: tokens.output, ms };
          return { value: answer.value, usage: { ...spent, attempts: attempt } };
        }
        failure = { kind: "invalid-output", retryable: !corrected, reason: `invalid output: ${answer.problems}` };
        if (!corrected) {
          messages = [first, { role: "assistant", content: replayable(message.content) }, answer.reply];
          corrected = true;
        }
      } catch (error) {
        const classified =
          error instanceof ModelError ? undefined : classifyFailure(error, signal?.aborted ?? false, now());
        if (!classified) throw error;
        failure = classified;
        cause = error;
      }
      if (failure.kind === "cancelled") throw cancelled();
      if (!failure.retryable || attempt >= policy.maxAttempts) throw finalError(call, failure, attempt, cause);
      if (failure.retryAfterMs !== undefined && failure.retryAfterMs > policy.maxRetryAfterMs) {
        const asked = `the API asked to wait ${Math.ceil(failure.retryAfterMs / 1000)} s, longer than we wait`;
        throw finalError(call, { ...failure, reason: `${failure.reason}; ${asked}` }, attempt, cause);
      }
      // A corrective retry need not wait: the service is fine, the answer was not.
      const wait = failure.kind === "invalid-output" ? 0 : retryDelay(failure, attempt, policy, random);
      progress.onRetry?.(attempt, failure.reason, wait);
      if (wait > 0) {
        try {
          await sleep(wait, signal);
        } catch (error) {
          if (signal?.aborted) throw cancelled();
          throw error;
        }
      }
    }
  }

  return {
    async plan(req, progress) {
      const { value, usage } = await request(
        {
          tool: planTool,
          model: options.models.plan,
          system: [{ type: "text", text: PLAN_SYSTEM }],
          user: planMessage(req),
          maxTokens: options.maxTokens?.plan ?? 16_000,
        },
        progress,
      );
      return { plan: value, usage };
    },
    async code(req, progress) {
      const { value, usage } = await request(
        {
          tool: writeFilesTool,
          model: options.models.code,
          system: codeSystemBlocks,
          user: codeMessage(req),
          maxTokens: options.maxTokens?.code ?? 64_000,
        },
        progress,
      );
      return { files: value, usage };
    },
  };
}

function body<T>(call: ToolRequest<T>, messages: MessageParam[]): MessageCreateParamsBase {
  const name = call.tool.definition.name;
  return {
    model: call.model,
    max_tokens: call.maxTokens,
    system: call.system,
    messages,
    tools: [call.tool.definition],
    tool_choice: acceptsForcedToolUse(call.model)
      ? { type: "tool", name, disable_parallel_tool_use: true }
      : { type: "auto", disable_parallel_tool_use: true },
  };
}

/** One streamed request; abandoned (AttemptTimeout) when nothing arrives for idleTimeoutMs. */
async function streamOnce(
  anthropic: Anthropic,
  params: MessageCreateParamsBase,
  progress: ModelProgress,
  idleTimeoutMs: number,
): Promise<Message> {
  const attempt = new AbortController();
  let idle = false;
  let timer: NodeJS.Timeout | undefined;
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      idle = true;
      attempt.abort();
    }, idleTimeoutMs);
  };
  const cancel = () => attempt.abort();
  progress.signal?.addEventListener("abort", cancel, { once: true });
  rearm();
  try {
    const stream = anthropic.messages.stream(params, { signal: attempt.signal, timeout: idleTimeoutMs });
    stream.on("streamEvent", rearm);
    if (progress.onText) {
      const onText = progress.onText;
      stream.on("text", (delta) => onText(delta));
      stream.on("inputJson", (delta) => onText(delta));
    }
    return await stream.finalMessage();
  } catch (error) {
    if (idle && !progress.signal?.aborted) throw new AttemptTimeout(idleTimeoutMs);
    throw unwrap(error);
  } finally {
    clearTimeout(timer);
    progress.signal?.removeEventListener("abort", cancel);
  }
}

/** The stream wraps what it did not throw itself (a cut socket, a listener's error) in a bare AnthropicError. */
function unwrap(error: unknown): unknown {
  const wrapped = error instanceof AnthropicError && !(error instanceof APIError) && error.cause instanceof Error;
  return wrapped && !(error.cause instanceof AnthropicError) ? error.cause : error;
}

type Answer<T> = { ok: true; value: T } | { ok: false; problems: string; reply: MessageParam };

/** The tool call's input, validated; or what to tell the model in the corrective retry. */
function readAnswer<T>(tool: OutputTool<T>, message: Message): Answer<T> {
  const name = tool.definition.name;
  const call = message.content.find((block) => block.type === "tool_use" && block.name === name);
  if (call?.type !== "tool_use") {
    const problems = `no ${name} call (stop reason: ${message.stop_reason ?? "none"})`;
    return { ok: false, problems, reply: { role: "user", content: missingToolCall(name) } };
  }
  const cut = message.stop_reason === "max_tokens";
  const read = cut
    ? { ok: false as const, problems: "the answer was cut off at the output limit: make it shorter" }
    : tool.read(call.input);
  if (read.ok) return read;
  const reply: MessageParam = {
    role: "user",
    content: [{ type: "tool_result", tool_use_id: call.id, is_error: true, content: correction(name, read.problems) }],
  };
  return { ok: false, problems: read.problems, reply };
}

/** The assistant's turn as it may be sent back (thinking blocks included, as the API requires). */
function replayable(content: ContentBlock[]): ContentBlockParam[] {
  return content.flatMap((block): ContentBlockParam[] => {
    switch (block.type) {
      case "text":
        return [{ type: "text", text: block.text }];
      case "thinking":
        return [{ type: "thinking", thinking: block.thinking, signature: block.signature }];
      case "redacted_thinking":
        return [{ type: "redacted_thinking", data: block.data }];
      case "tool_use":
        return [{ type: "tool_use", id: block.id, name: block.name, input: block.input }];
      default:
        return [];
    }
  });
}

function cancelled(): ModelError {
  return new ModelError("cancelled", "the model request was cancelled");
}

function finalError<T>(call: ToolRequest<T>, failure: Failure, attempts: number, cause: unknown): ModelError {
  const tries = attempts === 1 ? "" : ` after ${attempts} attempts`;
  const step = call.tool === planTool ? "plan" : "code";
  const hint =
    failure.kind === "no-key"
      ? ": check ANTHROPIC_API_KEY in the instance's environment, or the organisation's ANTHROPIC_API_KEY secret"
      : "";
  const message = `the ${step} request to ${call.model} failed${tries}: ${failure.reason}${hint}`;
  return new ModelError(failure.kind, message, cause === undefined ? undefined : { cause });
}
