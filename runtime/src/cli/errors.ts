import { type CompileDiagnostic, compileFailure, type ProblemDetails } from "@isola/schema";

/** The command line itself is wrong (unknown command or option, missing argument): exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
  /** The usage text to print after the message; the command's, or the general one. */
  usage: string | undefined;
  constructor(message: string, usage?: string) {
    super(message);
    this.usage = usage;
  }
}

/** A refusal a person can act on (not logged in, no such directory, cancelled): one line, no stack. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The API answered with RFC 9457 problem details: its `detail` is the message. */
export class ApiError extends CliError {
  override name = "ApiError";
  readonly problem: ProblemDetails;
  /** What to do about it, when the command knows better than the API (e.g. the exact command to run). */
  hint: string[] = [];
  /** Where the uploaded files live on this machine, so that compile errors point at them. */
  sourceDir: string | undefined;
  constructor(problem: ProblemDetails) {
    super(problem.detail);
    this.problem = problem;
  }

  /** The stable part of `type` (urn:isola:problem:<code>), to switch on. */
  get code(): string {
    return this.problem.type.replace(/^urn:isola:problem:/, "");
  }

  get status(): number {
    return this.problem.status;
  }
}

/** One compiler diagnostic as editors and terminals link it: `file:line:column  message`. */
export function diagnosticLine(error: CompileDiagnostic, sourceDir?: string): string {
  const file =
    error.file === "" ? "(bundle)" : sourceDir ? `${sourceDir.replace(/\/+$/, "")}/${error.file}` : error.file;
  const where = error.line > 0 ? `${file}:${error.line}:${error.column}` : file;
  return `${where}  ${error.message}`;
}

/** The lines to print for an error: never a stack trace (unless ISOLA_DEBUG asks for one). */
export function errorLines(error: unknown, debug = false): string[] {
  if (error instanceof ApiError) {
    const lines = [`isola: ${error.message}`];
    const failure = error.code === "compile-failed" ? compileFailure.safeParse(error.problem) : undefined;
    for (const item of failure?.data?.errors ?? []) lines.push(diagnosticLine(item, error.sourceDir));
    return [...lines, ...error.hint];
  }
  if (error instanceof Error) {
    const known = error instanceof CliError || error instanceof UsageError;
    return [`isola: ${error.message}`, ...(debug && !known && error.stack ? [error.stack] : [])];
  }
  return [`isola: ${String(error)}`];
}
