import type { CompileResult } from "@isola/sandbox";
import type { Bus, Config, Database, ServerSource } from "@isola/schema";
import type { Kysely } from "kysely";
import type { Mailer } from "./mail/mailer.ts";
import type { SecretKey } from "./secrets/key.ts";

export interface TrialCall {
  tool: string;
  args: unknown;
  env: Record<string, string>;
  /** The hosts the code may reach (approved and declared). */
  egressHosts: string[];
}

/** What the control plane is given at the composition root; it reaches for nothing else. */
export interface ControlDeps {
  db: Kysely<Database>;
  bus: Bus;
  config: Config;
  /**
   * Compiles and checks tool code; tool code runs only in sandbox shards. `declarative`:
   * declarative tools (schema's `declarativeServer`), alone (`files` empty) or besides the code.
   */
  compile(files: ServerSource, declarative?: unknown): Promise<CompileResult>;
  /**
   * Calls one tool of a compiled bundle that is not stored yet, in a sandbox shard (a build's
   * smoke run), with the secrets and approved hosts given. Absent: builds skip the smoke run.
   */
  trial?(bundle: { code: string; hash: string }, call: TrialCall): Promise<unknown>;
  /** Encrypts secrets at rest (loadSecretKey). */
  secretKey: SecretKey;
  /** Sends messages to people (password reset links). Absent: the log mailer (no mail transport). */
  mailer?: Mailer;
  now?: () => Date;
}
