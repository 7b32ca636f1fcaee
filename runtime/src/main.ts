// The `isola` command and the composition root: the one place that reads the
// environment, builds the stores and decides which roles this process serves.

import { parseArgs } from "node:util";
import { type Config, migrateToLatest, parseConfig, type Role } from "@isola/schema";
import { pino } from "pino";
import type { RolePlugin } from "./http/app.ts";
import { exitOnSignals } from "./process/shutdown.ts";
import { startIsola } from "./process/start.ts";
import { openDatabase } from "./stores/database.ts";

const USAGE = `Usage: isola <command>

Commands:
  start     serve the roles listed in ISOLA_ROLES (default: runtime,control,web)
  migrate   apply database migrations, then exit
  help      show this text

Configuration is read from environment variables: see README.md.`;

/** Roles whose plugins exist. A role listed in ISOLA_ROLES but not here serves nothing yet. */
const ROLE_PLUGINS: Partial<Record<Role, RolePlugin>> = {};

/** Orchestrators wait 10 s between SIGTERM and SIGKILL; finish (or give up) before that. */
const SHUTDOWN_GRACE_MS = 9000;

function loadConfig(): Config {
  const result = parseConfig(process.env);
  if (!result.ok) {
    for (const error of result.errors) process.stderr.write(`isola: invalid configuration: ${error}\n`);
    process.exit(1);
  }
  return result.config;
}

async function start(config: Config): Promise<void> {
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } });
  process.on("unhandledRejection", (reason) => {
    logger.error({ err: reason instanceof Error ? reason.message : String(reason) }, "unhandled rejection");
  });
  const plugins = config.roles.flatMap((role) => ROLE_PLUGINS[role] ?? []);
  let running: Awaited<ReturnType<typeof startIsola>>;
  try {
    running = await startIsola(config, logger, plugins);
  } catch (error) {
    logger.fatal(`cannot start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  logger.info(
    {
      url: running.url,
      publicUrl: config.publicUrl,
      roles: config.roles,
      mounted: config.roles.filter((role) => ROLE_PLUGINS[role]),
      database: running.stores.dbKind,
      bus: running.stores.bus.kind,
    },
    "isola is listening",
  );
  exitOnSignals(running.stop, {
    graceMs: SHUTDOWN_GRACE_MS,
    log: (level, message) => logger[level](message),
  });
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

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: "boolean", short: "h" } },
  });
  const command = values.help ? "help" : (positionals[0] ?? "help");
  switch (command) {
    case "start":
      return start(loadConfig());
    case "migrate":
      return migrate(loadConfig());
    case "help":
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`isola: unknown command "${command}"\n\n${USAGE}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`isola: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
