// `isola rotate-secret-key [--generate]`: re-encrypts every stored secret with a new key.

import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { keyFilePath, loadSecretKey, rotateSecretKey, type SecretKey, secretKeyOf, writeKeyFile } from "@isola/control";
import { type Config, environmentSchema, migrateToLatest } from "@isola/schema";
import { openDatabase } from "../stores/database.ts";

export interface RotateIo {
  args: string[];
  stdin: AsyncIterable<string | Buffer> & { isTTY?: boolean };
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const processIo = (): RotateIo => ({
  args: process.argv.slice(2),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

/** The new key from stdin, read like ISOLA_SECRET_KEY (never from argv: it would show in `ps` and shell history). */
async function readKey(io: RotateIo): Promise<Buffer> {
  if (io.stdin.isTTY) io.stderr.write("paste the new key (32 bytes as base64 or hex), then press Ctrl-D\n");
  let text = "";
  for await (const chunk of io.stdin) text += chunk.toString();
  const parsed = environmentSchema.shape.ISOLA_SECRET_KEY.safeParse(text.trim());
  if (!parsed.success || !parsed.data) {
    throw new Error(
      "send the new key on stdin: 32 random bytes as base64 or 64 hex characters (openssl rand -base64 32), or pass --generate",
    );
  }
  return parsed.data;
}

export async function runRotateSecretKey(config: Config, io: RotateIo = processIo()): Promise<void> {
  const { values } = parseArgs({
    args: io.args,
    allowPositionals: true,
    strict: false,
    options: { generate: { type: "boolean" } },
  });
  const newKey = secretKeyOf(values.generate ? randomBytes(32) : await readKey(io));
  // Shown before anything changes: were it printed after the commit, a crash in between would
  // leave every secret encrypted with a key nobody has.
  if (values.generate) io.stdout.write(`new key (shown once; keep it): ${newKey.bytes.toString("base64")}\n`);

  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(database.db);
    const oldKey = loadSecretKey(config, { warn: () => {}, generate: false });
    const keyFile = config.secretKey || config.databaseUrl ? undefined : keyFilePath(config.dataDir);
    const count = keyFile
      ? await rotateKeyFile(keyFile, oldKey, newKey, () => rotateSecretKey(database.db, oldKey, newKey))
      : await rotateSecretKey(database.db, oldKey, newKey);
    io.stdout.write(`re-encrypted ${count} secret(s) from key ${oldKey.id} to key ${newKey.id}\n`);
    io.stdout.write(
      keyFile
        ? `${keyFile} now holds the new key\n`
        : `now set ISOLA_SECRET_KEY to the new key (id ${newKey.id}) on every node and restart them; until then they cannot read secrets\n`,
    );
  } finally {
    await database.close();
  }
}

/**
 * The embedded default keeps its key in a file next to the database. The order matters:
 * 1. write the new key to `secret.key.new` (0600, flushed) BEFORE the commit, so that from the
 *    moment the rows use the new key, that key is on disk next to them;
 * 2. commit the re-encryption (one transaction);
 * 3. only then rename it over `secret.key` (atomic): renamed earlier, a failed commit would
 *    leave a key file that opens none of the rows.
 * A crash between 2 and 3 leaves the new key in `secret.key.new`, named in the next run's error.
 */
async function rotateKeyFile(
  keyFile: string,
  oldKey: SecretKey,
  newKey: SecretKey,
  rotate: () => Promise<number>,
): Promise<number> {
  const pending = `${keyFile}.new`;
  try {
    writeKeyFile(pending, newKey.bytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const bytes = readFileSync(pending);
    const left = bytes.length === 32 ? secretKeyOf(bytes).id : "none: it is not 32 bytes";
    throw new Error(
      `${pending} exists (key ${left}): an earlier rotation stopped before replacing ${keyFile} (key ${oldKey.id}). ` +
        `If isola cannot read secrets with key ${oldKey.id}, move ${pending} to ${keyFile}; otherwise delete it. Then run this again.`,
    );
  }
  let count: number;
  try {
    count = await rotate();
  } catch (error) {
    rmSync(pending, { force: true });
    throw error;
  }
  renameSync(pending, keyFile);
  return count;
}
