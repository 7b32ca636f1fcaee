// The `isola` command and the composition root: the one place that reads the
// environment, builds the stores and decides which roles this process serves.

import { parseArgs } from "node:util";
import { type Config, migrateToLatest, parseConfig } from "@isola/schema";
import { composeRoles } from "./compose.ts";
import { serve } from "./process/serve.ts";
import { openDatabase } from "./stores/database.ts";

const USAGE = `Usage: isola <command>

Commands:
  start     serve the roles listed in ISOLA_ROLES (default: runtime,control,web)
  migrate   apply database migrations, then exit
  help      show this text

Configuration is read from environment variables: see README.md.`;

function loadConfig(): Config {
  const result = parseConfig(process.env);
  if (!result.ok) {
    for (const error of result.errors) process.stderr.write(`isola: invalid configuration: ${error}\n`);
    process.exit(1);
  }
  return result.config;
}

function start(config: Config): Promise<void> {
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
