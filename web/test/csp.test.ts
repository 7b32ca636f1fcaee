// The web pages' Content-Security-Policy: what each directive allows, what it must never allow,
// and nonces that could not be carried safely in the header refused.
import { describe, expect, it } from "vitest";
import { newNonce, pagePolicy } from "../server/csp.ts";

const NONCE = "q0Jq9xS3oJm7fY8aZ1b2Cw==";

/** The policy as directive -> its sources. */
function directives(policy: string): Map<string, string[]> {
  const parsed = new Map<string, string[]>();
  for (const part of policy.split(";")) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (!name) continue;
    expect(parsed.has(name), `${name} appears twice`).toBe(false);
    parsed.set(name, sources);
  }
  return parsed;
}

describe("the page policy", () => {
  const policy = directives(pagePolicy(NONCE));
  const cases: [string, string[] | undefined][] = [
    ["default-src", ["'self'"]],
    ["script-src", ["'self'", `'nonce-${NONCE}'`]],
    ["style-src", ["'self'"]],
    ["style-src-attr", ["'unsafe-inline'"]],
    ["img-src", ["'self'", "data:"]],
    ["font-src", ["'self'"]],
    ["connect-src", ["'self'"]],
    ["object-src", ["'none'"]],
    ["base-uri", ["'none'"]],
    ["frame-ancestors", ["'none'"]],
    // Browsers apply it to the redirect after a post (sign-out, OAuth): it would break them.
    ["form-action", undefined],
    // Absent, the fallbacks hold: script-src-elem/attr fall back to script-src.
    ["script-src-elem", undefined],
    ["script-src-attr", undefined],
  ];
  for (const [name, sources] of cases) {
    it(`${name}: ${sources ? sources.join(" ") : "absent"}`, () => {
      expect(policy.get(name)).toEqual(sources);
    });
  }

  it("never lets a script run without the nonce, or code be made from strings", () => {
    const text = pagePolicy(NONCE);
    for (const source of [
      "'unsafe-inline'",
      "'unsafe-eval'",
      "'unsafe-hashes'",
      "'strict-dynamic'",
      "*",
      "http:",
      "https:",
    ])
      expect(policy.get("script-src")).not.toContain(source);
    // The one unsafe-inline is for style attributes, never for <style> elements or scripts.
    expect(text.match(/'unsafe-inline'/g)).toHaveLength(1);
    expect(policy.get("style-src")).not.toContain("'unsafe-inline'");
  });

  it("names no other host", () => {
    for (const [name, sources] of policy)
      for (const source of sources) expect(source, name).toMatch(/^('self'|'none'|'unsafe-inline'|'nonce-.+'|data:)$/);
  });
});

describe("nonces", () => {
  it("are fresh base64 of 16 bytes, and each makes a policy that names it", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const nonce = newNonce();
      expect(Buffer.from(nonce, "base64")).toHaveLength(16);
      expect(pagePolicy(nonce)).toContain(`'nonce-${nonce}'`);
      seen.add(nonce);
    }
    expect(seen.size).toBe(100);
  });

  const refused: [string, string][] = [
    ["empty", ""],
    ["too short to be unguessable", "abc123=="],
    ["a quote that would end the source", `${NONCE}' 'unsafe-inline`],
    ["a semicolon that would start a directive", `${NONCE}; script-src *`],
    ["a line break that would start a header", `${NONCE}\r\nx-evil: 1`],
    ["a space", "q0Jq9xS3oJm7fY8a Z1b2Cw=="],
    ["base64url, which CSP's grammar allows but is not what we make", "q0Jq9xS3oJm7fY8aZ1b2C_-w"],
  ];
  for (const [why, nonce] of refused) {
    it(`refuses one with ${why}`, () => {
      expect(() => pagePolicy(nonce)).toThrow(/nonce/);
    });
  }
});
