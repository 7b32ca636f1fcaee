// What other packages may use: the compiler (control plane) and the supervisor (runtime).
export { COMPILER_VERSION, type CompileResult, compileServer } from "./compiler/compile.ts";
export { SANDBOX_ERRORS, SandboxError, type SandboxErrorCode, sandboxError } from "./errors.ts";
export type { EgressPolicy } from "./host/egress/egress-fetch.ts";
export type { IsolateLimits } from "./host/limits.ts";
export {
  type SandboxCall,
  SandboxSupervisor,
  type SupervisorEvent,
  type SupervisorOptions,
} from "./host/supervisor.ts";
