import { generateKeyPair, type JWTVerifyGetKey, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { JwtVerifier } from "../../src/mcp/auth/jwt.ts";

// The verifier remembers tokens it verified, so that a client sending the same token on every
// call pays for one signature check a minute; never past the token's expiry, and never once the
// token's grant is revoked.

const ISSUER = "https://isola.test/oauth";
const RESOURCE = "https://isola.test/notes/mcp";
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let privateKey: KeyPair["privateKey"];
let publicKey: KeyPair["publicKey"];
beforeAll(async () => {
  ({ privateKey, publicKey } = await generateKeyPair("ES256"));
});

function mint(expiresAtSeconds: number, audience = RESOURCE, grant: string | null = "g1"): Promise<string> {
  return new SignJWT({ scope: "mcp", client_id: "c1", ...(grant === null ? {} : { grant_id: grant }) })
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(ISSUER)
    .setSubject("user-1")
    .setAudience(audience)
    .setIssuedAt(Math.floor(expiresAtSeconds - 3600))
    .setExpirationTime(expiresAtSeconds)
    .sign(privateKey);
}

/** A verifier on a clock the test moves, counting how often it needed the signing key and asked after a grant. */
function verifier(start: number) {
  const clock = { now: start, keyLookups: 0, grantLookups: 0 };
  const revoked = new Set<string>();
  const keys: JWTVerifyGetKey = async () => {
    clock.keyLookups++;
    return publicKey;
  };
  const jwt = new JwtVerifier({
    issuer: ISSUER,
    keys,
    now: () => clock.now,
    grantIsLive: async (grantId) => {
      clock.grantLookups++;
      return !revoked.has(grantId);
    },
  });
  return { clock, revoked, jwt, verify: (token: string, audience: string) => jwt.verify(token, audience) };
}

describe("the JWT verifier's memory of verified tokens", () => {
  it("checks a token's signature once a minute, not on every call", async () => {
    const start = Date.UTC(2026, 10, 21, 12);
    const { clock, verify } = verifier(start);
    const token = await mint(start / 1000 + 3600);
    for (let call = 0; call < 5; call++) expect((await verify(token, RESOURCE)).ok).toBe(true);
    expect(clock.keyLookups).toBe(1);
    clock.now += 61_000;
    expect(await verify(token, RESOURCE)).toMatchObject({ ok: true, claims: { subject: "user-1", clientId: "c1" } });
    expect(clock.keyLookups).toBe(2);
  });

  it("never trusts a remembered token past its expiry", async () => {
    const start = Date.UTC(2026, 10, 21, 12);
    const { clock, verify } = verifier(start);
    const token = await mint(start / 1000 + 10);
    expect((await verify(token, RESOURCE)).ok).toBe(true);
    // Past exp, within jose's 30 s tolerance: checked again (and still accepted by the tolerance).
    clock.now += 11_000;
    expect((await verify(token, RESOURCE)).ok).toBe(true);
    expect(clock.keyLookups).toBe(2);
    clock.now += 40_000;
    expect(await verify(token, RESOURCE)).toEqual({ ok: false, reason: "expired" });
  });

  it("remembers a token per audience: verified for one server is not verified for another", async () => {
    const start = Date.UTC(2026, 10, 21, 12);
    const { verify } = verifier(start);
    const token = await mint(start / 1000 + 3600);
    expect((await verify(token, RESOURCE)).ok).toBe(true);
    expect(await verify(token, "https://isola.test/other/mcp")).toEqual({ ok: false, reason: "wrong_audience" });
  });

  it("does not remember failures: a forged token is checked (and refused) every time", async () => {
    const start = Date.UTC(2026, 10, 21, 12);
    const { clock, verify } = verifier(start);
    const token = await mint(start / 1000 + 3600);
    const forged = `${token.slice(0, -4)}AAAA`;
    for (let call = 0; call < 3; call++)
      expect(await verify(forged, RESOURCE)).toEqual({ ok: false, reason: "invalid_token" });
    expect(clock.keyLookups).toBe(3);
  });

  it("refuses a token whose grant was revoked, and one that names no grant", async () => {
    const start = Date.UTC(2026, 10, 21, 12);
    const { revoked, verify } = verifier(start);
    revoked.add("gone");
    expect(await verify(await mint(start / 1000 + 3600, RESOURCE, "gone"), RESOURCE)).toEqual({
      ok: false,
      reason: "revoked",
    });
    expect(await verify(await mint(start / 1000 + 3600, RESOURCE, null), RESOURCE)).toEqual({
      ok: false,
      reason: "invalid_token",
    });
  });

  it("asks after a remembered token's grant again once told it was revoked, and only that grant's", async () => {
    const start = Date.UTC(2026, 10, 21, 12);
    const { clock, revoked, jwt, verify } = verifier(start);
    const token = await mint(start / 1000 + 3600, RESOURCE, "g1");
    const other = await mint(start / 1000 + 3600, RESOURCE, "g2");
    expect((await verify(token, RESOURCE)).ok).toBe(true);
    expect((await verify(other, RESOURCE)).ok).toBe(true);
    expect(clock.grantLookups).toBe(2);
    revoked.add("g1");
    // Remembered: not asked again within the minute...
    expect((await verify(token, RESOURCE)).ok).toBe(true);
    // ...until the revocation is announced.
    jwt.forgetGrant("g1");
    expect(await verify(token, RESOURCE)).toEqual({ ok: false, reason: "revoked" });
    expect((await verify(other, RESOURCE)).ok).toBe(true);
    expect(clock.grantLookups).toBe(3);
  });

  it("asks after the grant again when the minute is over, without an announcement", async () => {
    const start = Date.UTC(2026, 10, 21, 12);
    const { clock, revoked, verify } = verifier(start);
    const token = await mint(start / 1000 + 3600);
    expect((await verify(token, RESOURCE)).ok).toBe(true);
    revoked.add("g1");
    clock.now += 61_000;
    expect(await verify(token, RESOURCE)).toEqual({ ok: false, reason: "revoked" });
  });
});
