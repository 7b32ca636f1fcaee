// The authorization server's signing keys: made on first boot, stored encrypted with the secrets
// key, published in the JWKS; a rotation publishes the new key before it signs and keeps the old
// one until its tokens have expired; a running instance and the runtime follow without a restart.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OAUTH_KEYS_CHANNEL, rotateSecretKey, secretKeyOf } from "@isola/control";
import { ensureSigningKey, keysInForce, loadKeySet, RETIRED_KEY_SECONDS, rotateSigningKey } from "@isola/control/oauth";
import { type Database, migrateToLatest, parseConfig } from "@isola/schema";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activateIn, runRotateOAuthKey } from "../../src/cli/rotate-oauth-key.ts";
import { openDatabase } from "../../src/stores/database.ts";
import { databaseBackends } from "../support/backends.ts";
import { OAuthAgent } from "../support/oauth-agent.ts";
import {
  authorizationUrl,
  exchangeCode,
  headerOf,
  pkce,
  refresh,
  registerPublicClient,
} from "../support/oauth-client.ts";
import { callServer, type OAuthInstance, startOAuthInstance } from "../support/oauth-fixtures.ts";
import { createTestDatabase } from "../support/postgres.ts";
import { eventually, sleep } from "../support/wait.ts";

const at = (iso: string) => new Date(iso);

describe("which keys are in force", () => {
  const key = (kid: string, signsFrom: string, expiresAt: string | null = null) => ({
    kid,
    signsFrom: at(signsFrom),
    expiresAt: expiresAt ? at(expiresAt) : null,
  });
  const old = key("old", "2030-01-01T00:00:00Z", "2030-01-01T12:25:00Z");
  const next = key("next", "2030-01-01T12:10:00Z");

  it.each([
    [
      "before the new key signs: the old one signs, both are published",
      "2030-01-01T12:00:00Z",
      "old",
      ["old", "next"],
      "2030-01-01T12:10:00Z",
    ],
    [
      "once it signs: the new one signs, the old one is still published",
      "2030-01-01T12:10:00Z",
      "next",
      ["next", "old"],
      "2030-01-01T12:25:00Z",
    ],
    ["after the old one expired: only the new one", "2030-01-01T12:25:00Z", "next", ["next"], null],
  ])("%s", (_case, now, signing, published, nextChange) => {
    const inForce = keysInForce([old, next], at(now));
    expect(inForce?.signing.kid).toBe(signing);
    expect(inForce?.published.map((k) => k.kid)).toEqual(published);
    expect(inForce?.nextChangeAt?.toISOString() ?? null).toBe(nextChange ? at(nextChange).toISOString() : null);
  });

  it("picks the same key on every node when two start signing at once", () => {
    const twins = [key("b", "2030-01-01T00:00:00Z"), key("a", "2030-01-01T00:00:00Z")];
    expect(keysInForce(twins, at("2030-01-02T00:00:00Z"))?.signing.kid).toBe("a");
    expect(keysInForce([...twins].reverse(), at("2030-01-02T00:00:00Z"))?.signing.kid).toBe("a");
  });

  it("has no key in force before any signs, or after all expired", () => {
    expect(keysInForce([next], at("2030-01-01T12:00:00Z"))).toBeNull();
    expect(keysInForce([old], at("2030-01-02T00:00:00Z"))).toBeNull();
    expect(keysInForce([], at("2030-01-02T00:00:00Z"))).toBeNull();
  });
});

describe.each(databaseBackends())("signing keys stored on $name", (backend) => {
  let db: Kysely<Database>;
  let close: () => Promise<void>;
  const secretKey = secretKeyOf(randomBytes(32));

  beforeAll(async () => {
    const database = await backend.open();
    await migrateToLatest(database.db);
    db = database.db;
    close = database.close;
  });
  afterAll(async () => close?.());

  it("makes one key on first boot, however many nodes start", async () => {
    const made = await Promise.all([ensureSigningKey(db, secretKey), ensureSigningKey(db, secretKey)]);
    expect(made.filter(Boolean)).toHaveLength(1);
    expect(await ensureSigningKey(db, secretKey)).toBe(false);
    expect(await db.selectFrom("oauth_signing_keys").select("kid").execute()).toHaveLength(1);
  });

  it("keeps the private half encrypted: the row holds the public key and a ciphertext only", async () => {
    const keys = await loadKeySet(db, secretKey);
    const privateD = keys.signing.d;
    const [row] = await db.selectFrom("oauth_signing_keys").selectAll().execute();
    expect(row?.public_jwk).toEqual({
      kty: "EC",
      crv: "P-256",
      x: keys.signing.x,
      y: keys.signing.y,
      kid: keys.signing.kid,
      alg: "ES256",
      use: "sig",
    });
    expect(JSON.stringify(row)).not.toContain(privateD);
    expect(row?.key_id).toBe(secretKey.id);
    // Another secret key opens nothing, and says which key the rows need.
    await expect(loadKeySet(db, secretKeyOf(randomBytes(32)))).rejects.toThrow(
      `encrypted with secret key ${secretKey.id}`,
    );
  });

  it("rotates: the new key is published first, signs later, and the old one stays until its tokens expired", async () => {
    const before = await loadKeySet(db, secretKey);
    const now = new Date();
    const rotation = await rotateSigningKey(db, secretKey, { leadSeconds: 600, now });
    expect(rotation.retired.map((key) => key.kid)).toEqual([before.signing.kid]);
    const published = await loadKeySet(db, secretKey, now);
    expect(published.signing.kid).toBe(before.signing.kid);
    expect(published.keys.map((key) => key.kid).sort()).toEqual([before.signing.kid, rotation.kid].sort());
    const later = new Date(now.getTime() + 600_000);
    expect((await loadKeySet(db, secretKey, later)).signing.kid).toBe(rotation.kid);
    const gone = new Date(now.getTime() + (600 + RETIRED_KEY_SECONDS) * 1000);
    expect((await loadKeySet(db, secretKey, gone)).keys.map((key) => key.kid)).toEqual([rotation.kid]);
  });

  it("moves to a new secrets key with the secrets (isola rotate-secret-key)", async () => {
    const newKey = secretKeyOf(randomBytes(32));
    const before = await loadKeySet(db, secretKey);
    await rotateSecretKey(db, secretKey, newKey);
    expect((await loadKeySet(db, newKey)).fingerprint).toBe(before.fingerprint);
    await expect(loadKeySet(db, secretKey)).rejects.toThrow(/encrypted with secret key/);
  });
});

describe("isola rotate-oauth-key", () => {
  it.each([
    [undefined, 900],
    ["0", 0],
    ["60", 60],
    ["604800", 604800],
  ])("takes --activate-in %s as %i seconds", (value, seconds) => {
    expect(activateIn(value)).toBe(seconds);
  });

  it.each(["-1", "1.5", "soon", "604801", true])("refuses --activate-in %s", (value) => {
    expect(() => activateIn(value)).toThrow(/--activate-in takes a number of seconds/);
  });

  it("adds a key to an instance and says when it signs and until when the old one stays", async () => {
    // PostgreSQL when there is one (a new database in ~1 s), else the embedded default.
    const dataDir = mkdtempSync(join(tmpdir(), "isola-rotate-oauth-"));
    const created = process.env.DATABASE_URL ? await createTestDatabase(process.env.DATABASE_URL) : undefined;
    try {
      const parsed = parseConfig({
        ISOLA_DATA_DIR: dataDir,
        ISOLA_SECRET_KEY: randomBytes(32).toString("base64"),
        ...(created ? { DATABASE_URL: created.url } : {}),
      });
      if (!parsed.ok) throw new Error(parsed.errors.join("; "));
      const config = parsed.config;
      const open = () => openDatabase({ databaseUrl: config.databaseUrl, dataDir });
      let database = await open();
      await migrateToLatest(database.db);
      await ensureSigningKey(database.db, secretKeyOf(config.secretKey as Buffer));
      const [first] = await database.db.selectFrom("oauth_signing_keys").select("kid").execute();
      await database.close();

      const out: string[] = [];
      const started = Date.now();
      await runRotateOAuthKey(config, {
        args: ["rotate-oauth-key", "--activate-in", "60"],
        stdout: { write: (text: string) => out.push(text) },
      });
      const text = out.join("");
      expect(text).toMatch(/^new OAuth signing key \S+: published now, signs from \S+\n/);
      expect(text).toContain(`key ${first?.kid} stays published until`);
      expect(text).toContain("running nodes reload their keys within a minute");

      database = await open();
      const rows = await database.db.selectFrom("oauth_signing_keys").selectAll().orderBy("created_at").execute();
      await database.close();
      expect(rows).toHaveLength(2);
      const [old, fresh] = rows;
      expect(fresh?.signs_from.getTime()).toBeGreaterThanOrEqual(started + 59_000);
      expect(fresh?.expires_at).toBeNull();
      expect(old?.expires_at?.getTime()).toBe((fresh?.signs_from.getTime() ?? 0) + RETIRED_KEY_SECONDS * 1000);
    } finally {
      await created?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("a rotation on a running instance", () => {
  let instance: OAuthInstance;

  beforeAll(async () => {
    instance = await startOAuthInstance();
  }, 120_000);
  afterAll(async () => {
    await instance?.close();
  });

  it("publishes the new key at once, signs with it from its time on, and the runtime takes tokens of both", async () => {
    const { issuer, api } = instance;
    const owner = await instance.person();
    const server = await instance.server(owner, "keys-notes");
    const client = await registerPublicClient(issuer);
    const { verifier, challenge } = pkce();
    const { callback } = await new OAuthAgent().authorize(
      authorizationUrl(issuer, { client, challenge, resource: server, scope: "mcp:tools" }),
      owner,
    );
    const first = await exchangeCode(issuer, { client, code: callback.searchParams.get("code") as string, verifier });
    const oldKid = headerOf(String(first.body.access_token)).kid;
    // The runtime has seen the old key set (and remembers this token).
    expect((await callServer(server, String(first.body.access_token))).status).toBe(200);

    const secretKey = secretKeyOf(api.config.secretKey as Buffer);
    const rotation = await rotateSigningKey(api.stores.db, secretKey, { leadSeconds: 2 });
    await api.stores.bus.publish(OAUTH_KEYS_CHANNEL, rotation.kid);
    const jwksKids = async () =>
      ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((key) => key.kid);
    await eventually(async () => ((await jwksKids()).includes(rotation.kid) ? true : undefined));
    expect(await jwksKids()).toEqual([oldKid, rotation.kid]);

    // Published, not yet signing: a token issued now is still the old key's, and a fresh one verifies.
    let refreshToken = String(first.body.refresh_token);
    const beforeSwitch = await refresh(issuer, { client, refreshToken });
    refreshToken = String(beforeSwitch.body.refresh_token);
    expect(headerOf(String(beforeSwitch.body.access_token)).kid).toBe(oldKid);
    expect((await callServer(server, String(beforeSwitch.body.access_token))).status).toBe(200);

    await sleep(Math.max(0, rotation.signsFrom.getTime() - Date.now()) + 300);
    const afterSwitch = await refresh(issuer, { client, refreshToken });
    expect(headerOf(String(afterSwitch.body.access_token)).kid).toBe(rotation.kid);
    // The runtime never saw this kid: it refetches the JWKS and takes the token.
    expect((await callServer(server, String(afterSwitch.body.access_token))).status).toBe(200);
    // Both stay published until the old key's tokens have expired.
    expect((await jwksKids()).sort()).toEqual([oldKid, rotation.kid].sort());
  });
});
