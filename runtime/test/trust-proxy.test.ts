import { parseTrustProxy, type TrustProxy } from "@isola/schema";
import type { FastifyPluginAsync } from "fastify";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { buildApp } from "../src/http/app.ts";
import { MemoryBus } from "../src/stores/memory-bus.ts";
import type { Stores } from "../src/stores/open-stores.ts";

// ISOLA_TRUST_PROXY decides whose word request.ip takes: the per-address limits (sign-in
// attempts, anonymous MCP callers, client registration) count by it.

describe("parseTrustProxy", () => {
  it.each<[string, TrustProxy]>([
    ["loopback", ["loopback"]],
    ["uniquelocal, linklocal", ["uniquelocal", "linklocal"]],
    ["10.0.0.0/8,192.168.1.7", ["10.0.0.0/8", "192.168.1.7"]],
    ["fd00::/8,::1", ["fd00::/8", "::1"]],
  ])("accepts %j", (value, expected) => {
    expect(parseTrustProxy(value)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["true", /not an address or range: "true"/],
    ["1", /not an address or range: "1"/],
    ["10.0.0.0/33", /"10.0.0.0\/33"/],
    ["fd00::/129", /"fd00::\/129"/],
    ["10.0.0.0/8/1", /"10.0.0.0\/8\/1"/],
    ["proxy.internal", /"proxy.internal"/],
    ["loopback,", /not an address or range: ""/],
  ])("refuses %j", (value, message) => {
    const parsed = parseTrustProxy(value);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

/** A node with one route that answers the address it sees. */
async function nodeSeeingIp(trustProxy: TrustProxy | undefined) {
  const whoami: FastifyPluginAsync = async (app) => {
    app.get("/whoami", async (request) => ({ ip: request.ip }));
  };
  const stores = { bus: new MemoryBus() } as unknown as Stores;
  return buildApp({ stores, logger: pino({ level: "silent" }), plugins: [whoami], trustProxy });
}

describe("the client's address behind a proxy", () => {
  it.each<[string, TrustProxy | undefined, string, string]>([
    ["unset: the socket's address, whatever the header says", undefined, "127.0.0.1", "127.0.0.1"],
    ["a trusted proxy: the header's last address", ["loopback"], "127.0.0.1", "203.0.113.9"],
    ["a proxy in a trusted range: the address it added", ["10.0.0.0/8"], "10.1.2.3", "203.0.113.9"],
    ["a request not from the trusted proxy: the socket's address", ["10.0.0.0/8"], "192.0.2.50", "192.0.2.50"],
  ])("%s", async (_case, trustProxy, socketAddress, expected) => {
    const app = await nodeSeeingIp(trustProxy);
    try {
      const response = await app.inject({
        url: "/whoami",
        remoteAddress: socketAddress,
        headers: { "x-forwarded-for": "198.51.100.1, 203.0.113.9" },
      });
      expect(response.json()).toEqual({ ip: expected });
    } finally {
      await app.close();
    }
  });
});
