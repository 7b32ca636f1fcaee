// `isola rotate-oauth-key [--activate-in SECONDS]`: a new signing key for the OAuth authorization
// server. It is published (in the JWKS) at once and signs from SECONDS later (default 15 minutes,
// so that JWKS caches learn it first); the keys it replaces stay published until every token they
// signed has expired. Running nodes pick it up without a restart: at once when this command can
// announce it on Redis, otherwise within a minute.

import { parseArgs } from "node:util";
import { loadSecretKey, OAUTH_KEY_LEAD_SECONDS, OAUTH_KEYS_CHANNEL, rotateSigningKey } from "@isola/control";
import { type Config, migrateToLatest } from "@isola/schema";
import { openDatabase } from "../stores/database.ts";
import { RedisBus } from "../stores/redis-bus.ts";

export interface RotateOAuthKeyIo {
  args: string[];
  stdout: { write(text: string): unknown };
}

const processIo = (): RotateOAuthKeyIo => ({ args: process.argv.slice(2), stdout: process.stdout });

/** The lead from `--activate-in`: whole seconds, 0 to 7 days. */
export function activateIn(value: string | boolean | undefined): number {
  if (value === undefined) return OAUTH_KEY_LEAD_SECONDS;
  if (typeof value === "string" && /^\d{1,6}$/.test(value) && Number(value) <= 7 * 86_400) return Number(value);
  throw new Error("--activate-in takes a number of seconds from 0 to 604800");
}

export async function runRotateOAuthKey(config: Config, io: RotateOAuthKeyIo = processIo()): Promise<void> {
  const { values } = parseArgs({
    args: io.args,
    allowPositionals: true,
    strict: false,
    options: { "activate-in": { type: "string" } },
  });
  const leadSeconds = activateIn(values["activate-in"]);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(database.db);
    // The key that encrypts secrets encrypts the signing keys too; a missing one is not generated here.
    const secretKey = loadSecretKey(config, { warn: () => {}, generate: false });
    const rotation = await rotateSigningKey(database.db, secretKey, { leadSeconds });
    io.stdout.write(
      `new OAuth signing key ${rotation.kid}: published now, signs from ${rotation.signsFrom.toISOString()}\n`,
    );
    for (const retired of rotation.retired) {
      io.stdout.write(`key ${retired.kid} stays published until ${retired.expiresAt.toISOString()}\n`);
    }
    if (config.redisUrl) {
      const bus = await RedisBus.connect({ url: config.redisUrl });
      try {
        await bus.publish(OAUTH_KEYS_CHANNEL, rotation.kid);
        io.stdout.write("running nodes were told; they reload their keys now\n");
      } finally {
        await bus.close();
      }
    } else {
      io.stdout.write("running nodes reload their keys within a minute (or at their next start)\n");
    }
  } finally {
    await database.close();
  }
}
