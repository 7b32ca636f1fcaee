import Anthropic from "@anthropic-ai/sdk";
import type { LlmRequest, LlmResult } from "@isola/sandbox";

// One ctx.llm completion on the Anthropic Messages API (non-streaming). Errors are rewritten
// for the tool's author: they reach tenant code, so they say what failed and what to do,
// and never carry the key or the SDK's internals.

export interface AnthropicTarget {
  apiKey: string;
  model: string;
  /** Unset: the SDK's own ANTHROPIC_BASE_URL, else api.anthropic.com. */
  baseURL?: string;
}

export async function anthropicComplete(
  target: AnthropicTarget,
  request: LlmRequest,
  signal: AbortSignal,
): Promise<LlmResult> {
  const client = new Anthropic({
    apiKey: target.apiKey,
    ...(target.baseURL ? { baseURL: target.baseURL } : {}),
    // The tool call has a deadline of its own: one attempt, no waiting between retries.
    maxRetries: 0,
    openTelemetry: false,
  });
  let message: Anthropic.Message;
  try {
    message = await client.messages.create(
      {
        model: target.model,
        max_tokens: request.maxTokens,
        messages: [{ role: "user", content: request.prompt }],
        ...(request.system === undefined ? {} : { system: request.system }),
      },
      { signal },
    );
  } catch (error) {
    throw new Error(describeFailure(error, target.model));
  }
  const text = message.content.flatMap((block) => (block.type === "text" ? [block.text] : [])).join("");
  const { usage } = message;
  return {
    text,
    usage: {
      inputTokens: usage.input_tokens + (usage.cache_read_input_tokens ?? 0) + (usage.cache_creation_input_tokens ?? 0),
      outputTokens: usage.output_tokens,
    },
  };
}

function describeFailure(error: unknown, model: string): string {
  if (error instanceof Anthropic.APIUserAbortError) return "the model request was cancelled";
  if (error instanceof Anthropic.APIConnectionTimeoutError) return "the model API did not answer in time";
  if (error instanceof Anthropic.APIConnectionError) return "the model API could not be reached";
  if (error instanceof Anthropic.APIError) {
    const status = error.status;
    if (status === 401 || status === 403) {
      return `the model API refused the key (${status}): check the org's ANTHROPIC_API_KEY secret or the instance's ANTHROPIC_API_KEY`;
    }
    if (status === 429) return "the model API is rate limiting this key (429): try again later";
    if (status === 404) return `the model API does not know the model ${model} (404)`;
    return `the model API answered ${status ?? "an error"}`;
  }
  return "the model request failed";
}
