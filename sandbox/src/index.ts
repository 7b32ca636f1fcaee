// What other packages may use: the compiler (control plane) and the supervisor (runtime).
export { injectionMarkers } from "./compiler/checks/injection.ts";
export { COMPILER_VERSION, type CompileResult, compileServer } from "./compiler/compile.ts";
export { DECLARATIVE_FILE, declarativeNeeds, generateDeclarativeModule } from "./declarative/generate.ts";
export { SANDBOX_ERRORS, SandboxError, type SandboxErrorCode, sandboxError } from "./errors.ts";
export type { EgressPolicy } from "./host/egress/egress-fetch.ts";
export type { IsolateLimits } from "./host/limits.ts";
export {
  DEFAULT_LLM_LIMITS,
  type LlmCaller,
  type LlmComplete,
  type LlmLimits,
  type LlmRequest,
  type LlmResult,
} from "./host/llm.ts";
export type { FetchTiming } from "./host/shard-protocol.ts";
export {
  type SandboxCall,
  SandboxSupervisor,
  type SupervisorEvent,
  type SupervisorOptions,
  shardFor,
} from "./host/supervisor.ts";
