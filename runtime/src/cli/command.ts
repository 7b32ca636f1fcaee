import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { loadCredentials } from "./credentials.ts";
import { UsageError } from "./errors.ts";
import { ApiClient } from "./http.ts";
import type { Io } from "./io.ts";
import { json } from "./output.ts";

/** What a command runs with: the outside world, the output mode, and the API when it needs it. */
export interface Context {
  io: Io;
  /** --json: print the API's JSON instead of text for people. */
  json: boolean;
  /** The API from the saved credentials (or ISOLA_URL / ISOLA_TOKEN); throws "not logged in" without any. */
  api(): Promise<ApiClient>;
  /** Prints `raw` as JSON under --json, else the human text. */
  print(raw: unknown, human: () => string): void;
}

/** The options a command declared, read with checks that throw usage errors. */
export interface Flags {
  string(name: string): string | undefined;
  boolean(name: string): boolean;
  integer(name: string, min: number, max: number): number | undefined;
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined;
}

export interface Command {
  /** The words that select it: "deploy", "servers create". */
  name: string;
  /** Positional arguments, all required; a last one ending in "..." takes one or more. */
  args: string[];
  /** Its options (beyond --json and --help), as node:util parseArgs takes them. */
  options?: ParseArgsOptionsConfig;
  /** Options and placeholders for the usage line, after the arguments. */
  synopsis?: string;
  summary: string;
  /** More help, shown by `isola help <command>`. */
  details?: string;
  run(ctx: Context, args: string[], flags: Flags): Promise<void>;
}

const COMMON_OPTIONS = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} satisfies ParseArgsOptionsConfig;

export function usageLine(command: Command): string {
  return ["Usage: isola", command.name, ...command.args, command.synopsis, "[--json]"].filter(Boolean).join(" ");
}

export function commandHelp(command: Command): string {
  return `${usageLine(command)}\n\n${command.summary}\n${command.details ? `\n${command.details}\n` : ""}`;
}

/** parseArgs's messages, made short and about this command. */
function usageMessage(error: Error & { code?: string }): string {
  const option = /'(-[^' ]+)/.exec(error.message)?.[1];
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown option ${option}`;
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && /argument missing|ambiguous/.test(error.message)) {
    return `${option} needs a value (write --option=-value for one starting with "-")`;
  }
  return error.message.split("\n")[0] ?? error.message;
}

/** Parses the words after the command's name; every mistake is a UsageError carrying the usage line. */
export function parseCommandLine(command: Command, argv: string[]): { args: string[]; flags: Flags; help: boolean } {
  const usage = usageLine(command);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...COMMON_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(usageMessage(error as Error), usage);
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  const variadic = command.args.at(-1)?.endsWith("...") ?? false;
  const required = command.args.length;
  if (!help && positionals.length < required) {
    throw new UsageError(`missing ${command.args.slice(positionals.length).join(" ")}`, usage);
  }
  if (!help && !variadic && positionals.length > required) {
    // Not echoed: a value typed where none belongs may be a secret (`secrets set S NAME value`).
    throw new UsageError(`too many arguments: expected ${command.args.join(" ") || "none"}`, usage);
  }

  const flags: Flags = {
    string: (name) => {
      const value = values[name];
      return typeof value === "string" ? value : undefined;
    },
    boolean: (name) => values[name] === true,
    integer: (name, min, max) => {
      const value = flags.string(name);
      if (value === undefined) return undefined;
      const n = Number(value);
      if (!/^-?\d+$/.test(value) || n < min || n > max) {
        throw new UsageError(`--${name} takes a whole number from ${min} to ${max}, not "${value}"`, usage);
      }
      return n;
    },
    choice: (name, choices) => {
      const value = flags.string(name);
      if (value === undefined || (choices as readonly string[]).includes(value)) return value as never;
      throw new UsageError(`--${name} is one of ${choices.join(", ")}, not "${value}"`, usage);
    },
  };
  return { args: positionals, flags, help };
}

export function createContext(io: Io, asJson: boolean): Context {
  let api: Promise<ApiClient> | undefined;
  return {
    io,
    json: asJson,
    api: () => {
      api ??= loadCredentials(io.env).then((credentials) => new ApiClient(credentials));
      return api;
    },
    print: (raw, human) => io.out(asJson ? json(raw) : human()),
  };
}

/** A positional that must be a whole number (a version), as a usage error when it is not. */
export function positiveInteger(value: string, what: string, command: Command): number {
  if (/^\d+$/.test(value) && Number(value) >= 1) return Number(value);
  throw new UsageError(`${what} is a whole number from 1, not "${value}"`, usageLine(command));
}
