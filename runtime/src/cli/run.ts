import { audit } from "./audit.ts";
import { type Command, commandHelp, createContext, parseCommandLine, usageLine } from "./command.ts";
import { deploy } from "./deploy.ts";
import { ApiError, CliError, errorLines, UsageError } from "./errors.ts";
import type { Io } from "./io.ts";
import { keyCommands } from "./keys.ts";
import { login } from "./login.ts";
import { logs } from "./logs.ts";
import { json } from "./output.ts";
import { secretCommands } from "./secrets.ts";
import { serverCommands } from "./servers.ts";
import { rollback, versionCommands } from "./versions.ts";

export const USAGE = `Usage: isola <command> [arguments] [options]

Run Isola (configured by environment variables: see README.md):
  start       serve the roles listed in ISOLA_ROLES (default: runtime,control,web,worker)
  migrate     apply database migrations, then exit
  rotate-secret-key  re-encrypt every secret with a new key (from stdin, or --generate)
  rotate-oauth-key   a new signing key for OAuth access tokens (published first, then signing)

Use an Isola instance through its API:
  login       check a personal access token and save it: login --url URL --token TOKEN|-
  deploy      upload a directory of TypeScript, make it live, print its MCP URL
  servers     ls | create | pause | resume | rm | approve
  versions    ls | deploy
  rollback    make an earlier version live again
  secrets     set | ls | rm (values from stdin, never the command line)
  keys        create | ls | revoke: API keys for MCP clients
  logs        a server's live log; --follow keeps printing new lines
  audit       what changed in an org, newest first
  help        this text; help <command> for one command

Every API command takes --json (print the API's JSON). Credentials come from \`isola login\`,
or ISOLA_URL and ISOLA_TOKEN. Exit codes: 0 done, 1 refused or failed, 2 bad command line.`;

/** Commands of `isola` itself; main.ts runs them before this module is loaded. */
const INSTANCE_HELP: Record<string, string> = {
  start:
    "Usage: isola start\n\nServe the roles listed in ISOLA_ROLES. Configuration: environment variables (README.md).\n",
  migrate: "Usage: isola migrate\n\nApply database migrations, then exit. `isola start` also migrates.\n",
  "rotate-secret-key":
    "Usage: isola rotate-secret-key [--generate]\n\nRe-encrypt every stored secret with a new key, in one transaction. The new key\n(32 bytes, base64 or hex) is read from stdin, or made with --generate and printed once.\n",
  "rotate-oauth-key":
    "Usage: isola rotate-oauth-key [--activate-in SECONDS]\n\nMake a new signing key for OAuth access tokens. It is published at once and signs from\nSECONDS later (default 900); the keys it replaces stay published until their tokens expire.\n",
};

export const COMMANDS: Command[] = [
  login,
  deploy,
  ...serverCommands,
  ...versionCommands,
  rollback,
  ...secretCommands,
  ...keyCommands,
  logs,
  audit,
];

const GROUPS = new Set(COMMANDS.filter((c) => c.name.includes(" ")).map((c) => c.name.split(" ")[0]));

function groupHelp(group: string): string {
  const members = COMMANDS.filter((c) => c.name.startsWith(`${group} `));
  const lines = members.map((c) => `  ${usageLine(c).replace("Usage: ", "")}\n      ${c.summary}`);
  return `Usage: isola ${group} <command>\n\n${lines.join("\n")}\n\nisola help ${group} <command> says more.\n`;
}

/** The help for `words` (a command, a group, or nothing: everything). */
function help(words: string[]): string {
  const [first = "", second] = words;
  if (first === "") return `${USAGE}\n`;
  const help = INSTANCE_HELP[first];
  if (help) return help;
  const command = COMMANDS.find((c) => c.name === (GROUPS.has(first) && second ? `${first} ${second}` : first));
  if (command) return commandHelp(command);
  if (GROUPS.has(first)) return groupHelp(first);
  throw new UsageError(`no command "${words.join(" ")}"`, USAGE);
}

/** Finds the command the first words name; the rest of argv is its arguments and options. */
function findCommand(argv: string[]): { command: Command; rest: string[] } | { help: string } {
  const [first = "help", second] = argv;
  if (first === "help" || first === "--help" || first === "-h") return { help: help(argv.slice(1)) };
  if (INSTANCE_HELP[first]) return { help: INSTANCE_HELP[first] };
  if (GROUPS.has(first)) {
    if (second === undefined || second.startsWith("-")) {
      if (second === "--help" || second === "-h") return { help: groupHelp(first) };
      throw new UsageError(`"isola ${first}" needs a subcommand`, groupHelp(first).trimEnd());
    }
    const command = COMMANDS.find((c) => c.name === `${first} ${second}`);
    if (!command) throw new UsageError(`unknown command "${first} ${second}"`, groupHelp(first).trimEnd());
    return { command, rest: argv.slice(2) };
  }
  const command = COMMANDS.find((c) => c.name === first);
  if (!command) throw new UsageError(`unknown command "${first}"`, USAGE);
  return { command, rest: argv.slice(1) };
}

/** Prints an error as one message (and its details), never a stack trace; returns the exit code. */
function report(io: Io, error: unknown, asJson: boolean): number {
  if (error instanceof UsageError) {
    io.err(`isola: ${error.message}\n${error.usage ? `\n${error.usage}\n` : ""}`);
    return 2;
  }
  // Scripts asked for JSON: they get the API's problem document too, on stdout.
  if (asJson && error instanceof ApiError) io.out(json(error.problem));
  io.err(`${errorLines(error, Boolean(io.env.ISOLA_DEBUG)).join("\n")}\n`);
  return error instanceof CliError ? error.exitCode : 1;
}

/** Runs an API command (or help); returns the exit code. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  let asJson = false;
  let found: ReturnType<typeof findCommand> | undefined;
  try {
    found = findCommand(argv);
    if ("help" in found) {
      io.out(found.help);
      return 0;
    }
    const { args, flags, help } = parseCommandLine(found.command, found.rest);
    if (help) {
      io.out(commandHelp(found.command));
      return 0;
    }
    asJson = flags.boolean("json");
    await found.command.run(createContext(io, asJson), args, flags);
    return 0;
  } catch (error) {
    if (error instanceof UsageError && error.usage === undefined && found && "command" in found) {
      error.usage = usageLine(found.command);
    }
    return report(io, error, asJson);
  }
}
