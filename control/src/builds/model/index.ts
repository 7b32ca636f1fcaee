// The language-model side of builds: the interface the runner uses and its Anthropic implementation.

export { type AnthropicModelOptions, createAnthropicModel } from "./anthropic-model.ts";
export * from "./build-model.ts";
export type { BuildModels } from "./model-config.ts";
export { codeSystem, type GuestApi, readGuestApi } from "./prompts.ts";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.ts";
