import { ServerLogs } from "@isola/schema";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readEventStream, type StreamEvent } from "../../src/cli/event-stream.ts";
import { type Api, type Client, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { eventually, sleep } from "../support/wait.ts";
import { memberOf, newOrg, tokenIn } from "./orgs-people.ts";

// The live log API: JSON for scripts, Server-Sent Events to follow, resumable with
// Last-Event-ID; deploys, rollbacks, pauses and tool output land in it; streams end when the
// client leaves and when the app closes.

const LOGGING_SOURCE = `
import { defineServer, tool, z } from "isola";
export default defineServer({
  name: "chatty",
  tools: {
    shout: tool({
      description: "Logs what it is given, then says it",
      input: z.object({ text: z.string() }),
      run: ({ text }, ctx) => {
        ctx.log.info("shouting", { text });
        return text.toUpperCase();
      },
    }),
  },
});
`;

interface Stream {
  status: number;
  headers: Headers;
  /** The next `count` log events (fails after `timeoutMs`). */
  take(count: number, timeoutMs?: number): Promise<StreamEvent[]>;
  /** Whether the server ended the stream within `timeoutMs` (events before the end are skipped). */
  ended(timeoutMs?: number): Promise<boolean>;
  close(): void;
}

describe("the live log API", () => {
  let api: Api;
  let closed = false;
  let serverId: string;
  let writer: ServerLogs;
  const slug = "chatty";

  /** Opens GET /servers/chatty/logs as an event stream over a real socket. */
  async function open(query = "", headers: Record<string, string> = {}, token = api.adminToken): Promise<Stream> {
    const abort = new AbortController();
    const response = await fetch(`${api.url}/api/v1/servers/${slug}/logs${query}`, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers },
      signal: abort.signal,
    });
    const events = response.body ? readEventStream(response.body) : undefined;
    const pending: Promise<IteratorResult<StreamEvent>>[] = [];
    const next = () => {
      const read = pending.shift() ?? (events as AsyncGenerator<StreamEvent>).next();
      return read;
    };
    const within = <T>(promise: Promise<T>, ms: number, fallback: T) =>
      Promise.race([promise, sleep(ms).then(() => fallback)]);
    return {
      status: response.status,
      headers: response.headers,
      async take(count, timeoutMs = 5000) {
        const taken: StreamEvent[] = [];
        const deadline = Date.now() + timeoutMs;
        while (taken.length < count) {
          const read = next();
          const result = await within(read, Math.max(0, deadline - Date.now()), undefined);
          if (result === undefined) {
            pending.unshift(read);
            throw new Error(`got ${taken.length} of ${count} events: ${JSON.stringify(taken)}`);
          }
          if (result.done) throw new Error(`the stream ended after ${taken.length} of ${count} events`);
          if (result.value.event === "log") taken.push(result.value);
        }
        return taken;
      },
      async ended(timeoutMs = 3000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const read = next().catch(() => ({ done: true, value: undefined }) as const);
          const result = await within(read, Math.max(0, deadline - Date.now()), undefined);
          if (result === undefined) {
            pending.unshift(read);
            return false;
          }
          if (result.done) return true;
        }
      },
      close: () => abort.abort(),
    };
  }

  const messages = (events: StreamEvent[]) => events.map((event) => JSON.parse(event.data).message);
  const write = (message: string) => writer.write(serverId, { level: "info", source: "runtime", message });

  beforeAll(async () => {
    api = await startApi(undefined, {}, { listen: true });
    writer = new ServerLogs(api.stores.bus);
    expect((await api.admin.post("servers", { slug, name: slug, authMode: "public" })).status).toBe(201);
    const one = await api.admin.post(`servers/${slug}/versions`, { source: LOGGING_SOURCE });
    const two = await api.admin.post(`servers/${slug}/versions`, { source: HELLO_SOURCE.replace('"hello"', '"hi"') });
    expect([one.status, two.status]).toEqual([201, 201]);
    for (const [route, body] of [
      ["deploy", { version: 1 }],
      ["pause", {}],
      ["resume", {}],
      ["deploy", { version: 2 }],
      ["rollback", { version: 1 }],
    ] as const) {
      expect((await api.admin.post(`servers/${slug}/${route}`, body)).status).toBe(200);
    }
    serverId = (
      await api.stores.db.selectFrom("servers").select("id").where("slug", "=", slug).executeTakeFirstOrThrow()
    ).id;
  }, 60_000);
  afterAll(async () => {
    if (!closed) await api?.close();
  });

  it("logs deploys, pauses, resumes and rollbacks, with who did them", async () => {
    const logs = await api.admin.get(`servers/${slug}/logs`);
    expect(logs.status).toBe(200);
    const who = "owner@example.com (token";
    expect(logs.body.items.map((l: { source: string; level: string }) => [l.source, l.level])).toEqual([
      ["deploy", "info"],
      ["runtime", "warning"],
      ["runtime", "info"],
      ["deploy", "info"],
      ["deploy", "info"],
    ]);
    const lines: string[] = logs.body.items.map((l: { message: string }) => l.message);
    expect(lines[0]).toMatch(/^version 1 is live \(deploy by owner@example\.com \(token .+\)\)$/);
    expect(lines[1]).toContain(`paused by ${who}`);
    expect(lines[2]).toContain(`resumed by ${who}`);
    expect(lines[3]).toMatch(/^version 2 is live \(deploy by /);
    expect(lines[4]).toMatch(/^version 1 is live \(rollback by /);
    expect(logs.body.items[4].data).toEqual({ kind: "rollback", version: 1 });
    expect(logs.body.lastId).toBe(logs.body.items[4].id);
  });

  it("streams the tail, then a tool's own log lines as it runs", async () => {
    const stream = await open("?limit=1");
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
      expect(messages(await stream.take(1))).toEqual([expect.stringMatching(/^version 1 is live \(rollback by /)]);
      const mcp = new McpClient({ name: "logs-test", version: "1.0.0" });
      await mcp.connect(new StreamableHTTPClientTransport(new URL(`${api.url}/${slug}/mcp`)));
      try {
        const result = await mcp.callTool({ name: "shout", arguments: { text: "hey" } });
        expect(result.content).toEqual([{ type: "text", text: "HEY" }]);
      } finally {
        await mcp.close();
      }
      const [line] = await stream.take(1);
      expect(JSON.parse(line?.data ?? "")).toMatchObject({
        level: "info",
        source: "code",
        message: "shouting",
        data: { text: "hey" },
      });
    } finally {
      stream.close();
    }
  });

  it("answers scripts with JSON: the last N lines, or the first N after an id", async () => {
    for (let i = 0; i < 30; i++) await write(`line ${i}`);
    const tail = await api.admin.get(`servers/${slug}/logs?limit=5`);
    expect(tail.status).toBe(200);
    expect(tail.headers["content-type"]).toMatch(/^application\/json/);
    expect(tail.body.items.map((l: { message: string }) => l.message)).toEqual([
      "line 25",
      "line 26",
      "line 27",
      "line 28",
      "line 29",
    ]);
    expect(tail.body.lastId).toBe(tail.body.items[4].id);

    const all = (await api.admin.get(`servers/${slug}/logs?limit=1000`)).body.items as {
      id: string;
      message: string;
    }[];
    const ninth = all.find((l) => l.message === "line 9")?.id;
    const after = await api.admin.get(`servers/${slug}/logs?after=${ninth}&limit=5`);
    expect(after.body.items.map((l: { message: string }) => l.message)).toEqual([
      "line 10",
      "line 11",
      "line 12",
      "line 13",
      "line 14",
    ]);
    expect(after.body.lastId).toBe(after.body.items[4].id);
    // Ids increase: a script that pages with `after` sees every line once.
    const ids = all.map((l) => l.id);
    expect(
      [...ids].sort(
        (a, b) =>
          Number(a.split("-")[0]) - Number(b.split("-")[0]) || Number(a.split("-")[1]) - Number(b.split("-")[1]),
      ),
    ).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);

    const newest = tail.body.lastId;
    expect((await api.admin.get(`servers/${slug}/logs?after=${newest}`)).body).toEqual({ items: [], lastId: newest });
    // Without text/event-stream in Accept (curl's */*), the answer is JSON too.
    const anyType = await api.admin.get(`servers/${slug}/logs?limit=1`, { accept: "*/*" });
    expect(anyType.body.items).toHaveLength(1);
  });

  it("resumes with Last-Event-ID: no line missed, none repeated", async () => {
    const first = await open("?limit=1");
    await first.take(1);
    await write("a1");
    await write("a2");
    const seen = await first.take(2);
    expect(messages(seen)).toEqual(["a1", "a2"]);
    first.close();

    // Written while nobody listens.
    await write("b1");
    await write("b2");
    await write("b3");
    const resumed = await open("", { "last-event-id": seen[1]?.id ?? "" });
    try {
      const missed = await resumed.take(3);
      expect(messages(missed)).toEqual(["b1", "b2", "b3"]);
      await write("c1");
      expect(messages(await resumed.take(1))).toEqual(["c1"]);
      // Each event's id is the line's id in the log, which the JSON answer shows too.
      const json = (await api.admin.get(`servers/${slug}/logs?limit=4`)).body.items as { id: string }[];
      expect(json.map((l) => l.id)).toEqual([...missed.map((e) => e.id), json[3]?.id]);
    } finally {
      resumed.close();
    }
    // `after` resumes a stream the same way (for clients that cannot set headers).
    const byQuery = await open(`?after=${seen[1]?.id}&follow=false`);
    expect(messages(await byQuery.take(4))).toEqual(["b1", "b2", "b3", "c1"]);
    expect(await byQuery.ended()).toBe(true);
  });

  it("with follow=false sends the last lines and ends", async () => {
    const stream = await open("?limit=3&follow=false");
    expect(messages(await stream.take(3))).toEqual(["b2", "b3", "c1"]);
    expect(await stream.ended()).toBe(true);
  });

  it("stops reading the log when the client leaves", async () => {
    const reads = vi.spyOn(api.stores.bus, "readAfter");
    try {
      const stream = await open("?limit=1");
      await stream.take(1);
      await sleep(600);
      expect(reads.mock.calls.length).toBeGreaterThan(1);
      stream.close();
      // Once the server has seen the client go, it reads no more: no read for 3 polling intervals.
      const settled = await eventually(async () => {
        const count = reads.mock.calls.length;
        await sleep(800);
        return reads.mock.calls.length === count ? count : undefined;
      }, 10_000);
      await sleep(500);
      expect(reads.mock.calls.length).toBe(settled);
    } finally {
      reads.mockRestore();
    }
  });

  describe("refuses", () => {
    it.each([
      ["?limit=0", /limit/],
      ["?limit=1001", /limit/],
      ["?limit=some", /limit/],
      ["?after=bogus", /after/],
      ["?after=1-2-3", /after/],
      ["?follow=maybe", /follow/],
      ["?tail=3", /tail/],
    ])("%s with a 400 problem, as JSON and as a stream", async (query, message) => {
      for (const accept of ["application/json", "text/event-stream"]) {
        const response = await api.admin.get(`servers/${slug}/logs${query}`, { accept });
        expect(response.status).toBe(400);
        expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
        expect(response.body).toMatchObject({ type: "urn:isola:problem:invalid-request" });
        expect(response.body.detail).toMatch(message);
      }
    });

    it.each(["abc", "1-2-3", "-1", "1735689600000", "1735689600000-0 ", "../1-0"])(
      "a Last-Event-ID of %j with a 400 problem",
      async (id) => {
        const response = await api.admin.get(`servers/${slug}/logs`, {
          accept: "text/event-stream",
          "last-event-id": id,
        });
        expect(response.status).toBe(400);
        expect(response.body).toMatchObject({ type: "urn:isola:problem:invalid-request" });
        expect(response.body.detail).toMatch(/Last-Event-ID/);
      },
    );

    it("strangers (401), other orgs and unknown servers (404); a viewer may read", async () => {
      expect((await api.anonymous.get(`servers/${slug}/logs`)).status).toBe(401);
      expect((await api.admin.get("servers/no-such-server/logs")).status).toBe(404);
      const outsider: Client = (await newOrg(api)).owner.session;
      expect((await outsider.get(`servers/${slug}/logs`)).status).toBe(404);
      const org = (await api.admin.get("me")).body.orgs[0].slug;
      const viewer = await memberOf(api, org, "viewer");
      expect((await viewer.session.get(`servers/${slug}/logs?limit=1`)).body.items).toHaveLength(1);
      const viewerToken = await tokenIn(api, viewer, org);
      expect((await viewerToken.get(`servers/${slug}/logs?limit=1`)).status).toBe(200);
    });
  });

  it("ends open streams when the app closes, without holding the close up", async () => {
    const streams = [await open("?limit=1"), await open()];
    await streams[0]?.take(1);
    const started = Date.now();
    await api.close();
    closed = true;
    expect(Date.now() - started).toBeLessThan(5000);
    for (const stream of streams) expect(await stream.ended(1000)).toBe(true);
  });
});
