import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { z } from "zod";
import { CliError } from "./errors.ts";

export interface Credentials {
  /** The instance's public URL, without a trailing slash. */
  url: string;
  /** A personal access token (isola_pat_...). */
  token: string;
}

const stored = z.object({ url: z.string(), token: z.string() });

export const LOGIN_HINT = "run `isola login --url URL --token TOKEN` (or set ISOLA_URL and ISOLA_TOKEN)";

/** $XDG_CONFIG_HOME/isola/credentials.json, or ~/.config/isola/credentials.json. */
export function credentialsFile(env: Record<string, string | undefined>): string {
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(config, "isola", "credentials.json");
}

/** An http(s) URL without a trailing slash, or undefined when `value` is not one. */
export function normalizeUrl(value: string): string | undefined {
  const url = URL.parse(value);
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) return undefined;
  return url.href.replace(/\/+$/, "");
}

/** The saved credentials, each field overridden by ISOLA_URL / ISOLA_TOKEN (CI sets those, not a file). */
export async function loadCredentials(env: Record<string, string | undefined>): Promise<Credentials> {
  const file = credentialsFile(env);
  let saved: Partial<Credentials> = {};
  try {
    const parsed = stored.safeParse(JSON.parse(await readFile(file, "utf8")));
    if (!parsed.success) throw new SyntaxError("not { url, token }");
    saved = parsed.data;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new CliError(`cannot read ${file} (${(error as Error).message}): ${LOGIN_HINT}`);
    }
  }
  const rawUrl = env.ISOLA_URL || saved.url;
  const token = env.ISOLA_TOKEN || saved.token;
  if (!rawUrl || !token) throw new CliError(`not logged in: ${LOGIN_HINT}`);
  const url = normalizeUrl(rawUrl);
  if (!url) throw new CliError(`${env.ISOLA_URL ? "ISOLA_URL" : file} holds no http(s) URL: ${LOGIN_HINT}`);
  return { url, token };
}

/** Saves credentials readable by this user only (file 0600, directory 0700), replacing them atomically. */
export async function saveCredentials(env: Record<string, string | undefined>, credentials: Credentials) {
  const file = credentialsFile(env);
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600); // in case the umask or a leftover file widened it
  await rename(temporary, file);
  return file;
}
