import { generateKeyPair, type JWTVerifyGetKey, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createJwtVerifier } from "../../src/mcp/auth/jwt.ts";

// The verifier remembers tokens it verified, so that a client sending the same token on every
// call pays for one signature check a minute; never past the token's expiry.

const ISSUER = "https://isola.test/oauth";
const RESOURCE = "https://isola.test/notes/mcp";
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let privateKey: KeyPair["privateKey"];
let publicKey: KeyPair["publicKey"];
beforeAll(async () => {
  ({ privateKey, publicKey } = await generateKeyPair("ES256"));
});

function mint(expiresAtSeconds: number, audience = RESOURCE): Promise<string> {
  return new SignJWT({ scope: "mcp", client_id: "c1" })
    .setProtectedHeader({ alg: "ES256", kid: "k1" })
    .setIssuer(ISSUER)
    .setSubject("user-1")
    .setAudience(audience)
    .setIssuedAt(Math.floor(expiresAtSeconds - 3600))
    .setExpirationTime(expiresAtSeconds)
    .sign(privateKey);
}

/** A verifier on a clock the test moves, counting how often it needed the signing key. */
function verifier(start: number) {
  const clock = { now: start, keyLookups: 0 };
  const keys: JWTVerifyGetKey = async () => {
    clock.keyLookups++;
    return publicKey;
  };
  return { clock, verify: createJwtVerifier({ issuer: ISSUER, keys, now: () => clock.now }) };
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
});
