import { randomBytes } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "@isola/schema";
import { KEY_BYTES, keyId } from "./cipher.ts";

/** The key that encrypts secrets at rest, and its fingerprint (stored with each value). */
export interface SecretKey {
  readonly bytes: Buffer;
  readonly id: string;
}

export function secretKeyOf(bytes: Buffer): SecretKey {
  if (bytes.length !== KEY_BYTES) throw new Error(`a secret key is ${KEY_BYTES} bytes, not ${bytes.length}`);
  return { bytes, id: keyId(bytes) };
}

/** Where the embedded default keeps its generated key: next to the database it protects. */
export const keyFilePath = (dataDir: string) => join(dataDir, "secret.key");

export interface LoadKeyOptions {
  warn(message: string): void;
  /** Create the key file when it is missing (start: yes; rotation: no, there is nothing to rotate from). */
  generate?: boolean;
}

/**
 * The key from ISOLA_SECRET_KEY; for the embedded default (no DATABASE_URL) one generated once
 * into the data directory. A fleet (DATABASE_URL set) must configure it: nodes that each
 * generated their own key would write secrets the others cannot read.
 */
export function loadSecretKey(
  config: Pick<Config, "secretKey" | "databaseUrl" | "dataDir">,
  options: LoadKeyOptions,
): SecretKey {
  if (config.secretKey) return secretKeyOf(config.secretKey);
  if (config.databaseUrl) {
    throw new Error(
      "set ISOLA_SECRET_KEY: every node must use the same key (32 random bytes as base64 or hex: openssl rand -base64 32)",
    );
  }
  const path = keyFilePath(config.dataDir);
  const key = readKeyFile(path) ?? (options.generate === false ? undefined : createKeyFile(config.dataDir, path));
  if (!key) throw new Error(`there is no secret key at ${path} and ISOLA_SECRET_KEY is not set`);
  options.warn(
    `secrets are encrypted with a generated key stored next to the database (${path}): back it up with the data ` +
      `directory, or manage it yourself by setting ISOLA_SECRET_KEY (to keep today's secrets readable, its value is: openssl base64 -A -in ${path})`,
  );
  return secretKeyOf(key);
}

/** The key file's 32 bytes, undefined when it does not exist; refuses one that is unsafe or not a key. */
function readKeyFile(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read the secret key ${path}: ${(error as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error(`the secret key ${path} is not a regular file`);
    if ((stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      throw new Error(`the secret key ${path} is readable by group or others (mode ${mode}); run: chmod 600 ${path}`);
    }
    if (stat.size !== KEY_BYTES) {
      throw new Error(
        `the secret key ${path} holds ${stat.size} bytes, not ${KEY_BYTES}: restore it from a backup, or set ISOLA_SECRET_KEY`,
      );
    }
    const key = Buffer.alloc(KEY_BYTES);
    readSync(fd, key, 0, KEY_BYTES, 0);
    return key;
  } finally {
    closeSync(fd);
  }
}

/** Writes 32 random bytes to a file only this user can read; "wx" never overwrites a key that exists. */
function createKeyFile(dataDir: string, path: string): Buffer {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  writeKeyFile(path, key);
  return key;
}

/** Creates `path` exclusively with mode 0600 and the key, flushed to disk before it is used. */
export function writeKeyFile(path: string, key: Buffer): void {
  const fd = openSync(path, "wx", 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
