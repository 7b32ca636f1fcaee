// `isola start` and `isola migrate`: Isola itself, configured by environment variables only.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Config, migrateToLatest, parseConfig } from "@isola/schema";
import { composeRoles } from "../compose.ts";
import { serve } from "../process/serve.ts";
import { openDatabase } from "../stores/database.ts";
import { runRotateOAuthKey } from "./rotate-oauth-key.ts";
import { runRotateSecretKey } from "./rotate-secret-key.ts";

function loadConfig(): Config {
  const result = parseConfig(process.env);
  if (!result.ok) {
    for (const error of result.errors) process.stderr.write(`isola: invalid configuration: ${error}\n`);
    process.exit(1);
  }
  return result.config;
}

/**
 * Temporary files (the compiler's type-check directories, written for the native tsc) go under
 * the data directory unless TMPDIR names another place: the data directory is the only place a
 * node writes, so a read-only root filesystem (`docker run --read-only`) works without a /tmp.
 * Set before anything starts, so that the sandbox shards and tsc inherit it.
 */
function keepTemporaryFilesInDataDir(config: Config): void {
  if (process.env.TMPDIR) return;
  const dir = join(config.dataDir, "tmp");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    process.stderr.write(
      `isola: cannot create ${dir} for temporary files (${(error as Error).message}): ` +
        "make ISOLA_DATA_DIR writable, or set TMPDIR to a writable directory\n",
    );
    process.exit(1);
  }
  process.env.TMPDIR = dir;
}

function start(config: Config): Promise<void> {
  keepTemporaryFilesInDataDir(config);
  return serve(config, { compose: composeRoles });
}

async function migrate(config: Config): Promise<void> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const applied = await migrateToLatest(database.db);
    process.stdout.write(applied.length ? `applied: ${applied.join(", ")}\n` : "database is up to date\n");
  } finally {
    await database.close();
  }
}

export type InstanceCommand = "start" | "migrate" | "rotate-secret-key" | "rotate-oauth-key";

export function runInstanceCommand(command: InstanceCommand): Promise<void> {
  const config = loadConfig();
  if (command === "rotate-secret-key") return runRotateSecretKey(config);
  if (command === "rotate-oauth-key") return runRotateOAuthKey(config);
  return command === "start" ? start(config) : migrate(config);
}
