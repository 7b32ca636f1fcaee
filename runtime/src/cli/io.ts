/**
 * What a command may touch of the outside world, handed to it rather than reached for:
 * tests and `--watch` run commands against other streams and signals.
 */
export interface Io {
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  readonly stdin: typeof process.stdin;
  out(text: string): void;
  err(text: string): void;
  /** Resolves at Ctrl-C (SIGINT), for commands that run until stopped. */
  interrupted(): Promise<void>;
}

export function processIo(): Io {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    interrupted: () => new Promise((resolve) => process.once("SIGINT", () => resolve())),
  };
}
