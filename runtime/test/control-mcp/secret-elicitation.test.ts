// askForSecrets alone, with a short timeout: the real SDK server and client (in memory), the real
// Bus and cipher. Nobody answers the elicitation, or the user accepts and never posts the values:
// either way the call ends "timed out" within the timeout, and the request the page would read is gone.
import { randomBytes } from "node:crypto";
import { secretKeyOf } from "@isola/control";
import { askForSecrets, readSecretRequest } from "@isola/control/mcp-server";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  type CallToolResult,
  ElicitRequestSchema,
  type ElicitRequestURLParams,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import type { FastifyRequest } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryBus } from "../../src/stores/memory-bus.ts";

const USER = "00000000-0000-4000-8000-00000000000a";

async function harness(answer: (params: ElicitRequestURLParams) => Promise<ElicitResult>, timeoutMs: number) {
  const bus = new MemoryBus();
  const deps = {
    bus,
    config: { publicUrl: "https://isola.test" } as never,
    secretKey: secretKeyOf(randomBytes(32)),
  };
  const mcp = new McpServer({ name: "t", version: "1" }, { capabilities: { tools: {} } });
  // The HTTP request of a call, as the plugin hands it over: only its caller matters here.
  const request = { actor: { via: "token", userId: USER } } as unknown as FastifyRequest;
  mcp.registerTool("ask", {}, async (extra) => {
    const started = Date.now();
    const asked = await askForSecrets(
      { mcp, deps },
      { request, extra },
      "Enter KEY",
      [{ name: "KEY", required: true }],
      timeoutMs,
    );
    return { content: [{ type: "text", text: JSON.stringify({ asked, ms: Date.now() - started }) }] };
  });
  const client = new Client({ name: "c", version: "1" }, { capabilities: { elicitation: { url: {} } } });
  const urls: string[] = [];
  client.setRequestHandler(ElicitRequestSchema, (elicit) => {
    const params = elicit.params as ElicitRequestURLParams;
    urls.push(params.url);
    return answer(params);
  });
  const [left, right] = InMemoryTransport.createLinkedPair();
  await mcp.connect(left);
  await client.connect(right);
  const call = async () => {
    const result = (await client.callTool({ name: "ask", arguments: {} })) as CallToolResult;
    return JSON.parse((result.content[0] as { text: string }).text) as { asked: unknown; ms: number };
  };
  return { bus, call, urls, close: () => Promise.all([client.close(), mcp.close(), bus.close()]) };
}

describe("askForSecrets with a short timeout", () => {
  let close: (() => Promise<unknown>) | undefined;
  afterEach(async () => {
    await close?.();
  });

  it.each([
    ["nobody answers the elicitation", () => new Promise<ElicitResult>(() => {})],
    ["the user accepts and never enters the values", async () => ({ action: "accept" as const })],
  ])("times out when %s, and the request is gone", async (_case, answer) => {
    const parts = await harness(answer, 400);
    close = parts.close;
    const { asked, ms } = await parts.call();
    expect(asked).toEqual({ ok: false, why: "timed out" });
    expect(ms).toBeGreaterThanOrEqual(380);
    expect(ms).toBeLessThan(3_000);
    const id = new URL(parts.urls[0] as string).pathname.split("/").at(-1) as string;
    expect(parts.urls[0]).toBe(`https://isola.test/secret-requests/${id}`);
    expect(await readSecretRequest(parts.bus, id, USER)).toBeUndefined();
  });

  it("holds the request open, for its user only, while it waits", async () => {
    let during: unknown[] = [];
    const parts = await harness(async (params) => {
      const id = params.elicitationId;
      const bus = parts.bus;
      during = [
        (await readSecretRequest(bus, id, USER))?.fields,
        await readSecretRequest(bus, id, "00000000-0000-4000-8000-00000000000b"),
      ];
      return { action: "decline" };
    }, 2_000);
    close = parts.close;
    expect((await parts.call()).asked).toEqual({ ok: false, why: "declined" });
    expect(during).toEqual([[{ name: "KEY", required: true }], undefined]);
  });
});
