// Every error the sandbox reports, defined once with a stable code. Tool authors see the
// message; the runtime maps the code to its usage outcome and, where it applies, to a
// JSON-RPC error. Messages never contain secrets or host internals.

export const SANDBOX_ERRORS = {
  SANDBOX_CPU_LIMIT: (ms: number) => `the call used more than its CPU budget of ${ms} ms`,
  SANDBOX_WALL_TIMEOUT: (ms: number) => `the call did not finish within ${ms} ms`,
  SANDBOX_MEMORY_LIMIT: (mb: number) => `the server went over its memory limit of ${mb} MB`,
  SANDBOX_RESET: () => "the server's sandbox was reset while this call ran (another call exceeded a limit)",
  SANDBOX_RESULT_TOO_LARGE: (detail: string) => `the result is too large: ${detail}`,
  SANDBOX_UNKNOWN_TOOL: (name: string) => `no tool named ${name}`,
  SANDBOX_UNKNOWN_RESOURCE: (uri: string) => `no resource matches ${uri}`,
  SANDBOX_UNKNOWN_PROMPT: (name: string) => `no prompt named ${name}`,
  SANDBOX_INVALID_ARGUMENTS: (detail: string) => `invalid arguments: ${detail}`,
  SANDBOX_LOAD_FAILED: (detail: string) => `the server's code failed to load: ${detail}`,
  SANDBOX_NO_SERVER: () => "the code never called defineServer({...})",
  /** The server's own code failed (threw, or left a promise rejected without a handler). */
  SANDBOX_CODE_ERROR: (detail: string) => `the server's code failed: ${detail}`,
  SANDBOX_BUSY: (limit: number) => `too many calls in progress (limit ${limit}); try again shortly`,
  SANDBOX_CANCELLED: (reason: string) => `the call was cancelled: ${reason}`,
  SANDBOX_CRASHED: () => "the sandbox process running this server stopped; the call was lost",
  SANDBOX_QUARANTINED: () =>
    "this server is quarantined after crashing its sandbox repeatedly; deploy a new version to clear it",
  SANDBOX_INTERNAL: (detail: string) => `internal sandbox error: ${detail}`,
} as const;

export type SandboxErrorCode = keyof typeof SANDBOX_ERRORS;

export class SandboxError extends Error {
  override name = "SandboxError";
  readonly code: SandboxErrorCode;
  constructor(code: SandboxErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** Builds an error from the catalogue: `sandboxError("SANDBOX_CPU_LIMIT", 2000)`. */
export function sandboxError<C extends SandboxErrorCode>(
  code: C,
  ...args: Parameters<(typeof SANDBOX_ERRORS)[C]>
): SandboxError {
  const template = SANDBOX_ERRORS[code] as (...a: unknown[]) => string;
  return new SandboxError(code, template(...args));
}
