import type { CompileResult } from "@isola/sandbox";
import type { Bus, Config, Database, ServerSource } from "@isola/schema";
import type { Kysely } from "kysely";
import type { SecretKey } from "./secrets/key.ts";

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
  /** Encrypts secrets at rest (loadSecretKey). */
  secretKey: SecretKey;
  now?: () => Date;
}
