// A build's events as Server-Sent Events over a real socket: every event in order with its seq
// as the id, live while the build runs, the stream ending with the build; a reconnect with
// Last-Event-ID resumes right after it; and a stream on one node follows a build that a runner
// on another node writes (two nodes on one database and one Redis).
import { randomBytes } from "node:crypto";
import type { Bus } from "@isola/schema";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RedisBus } from "../../src/stores/redis-bus.ts";
import type { Api } from "../support/api-harness.ts";
import { answer, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { openSession, send } from "../support/mcp.ts";
import { RedisServer } from "../support/redis-server.ts";
import {
  type BuildEvent,
  buildClient,
  eventOf,
  followEvents,
  type Node,
  type SseMessage,
  startBuildApi,
  startModel,
  startNode,
} from "./build-harness.ts";

const BRIEF = "A server with weather forecasts for any city";

/** Each message is the stored event it names: id = seq, event = type, data = the event. */
function expectStoredEvents(messages: SseMessage[], stored: BuildEvent[]) {
  expect(messages.map((m) => m.id)).toEqual(stored.map((e) => String(e.seq)));
  expect(messages.map((m) => m.event)).toEqual(stored.map((e) => e.type));
  expect(messages.map(eventOf)).toEqual(stored);
}

describe("a build's event stream", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let builds: ReturnType<typeof buildClient>;

  beforeAll(async () => {
    fake = await startModel();
    api = await startBuildApi();
    builds = buildClient(api.admin);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await fake?.close();
  });
  beforeEach(() => {
    expect(fake.pending()).toBe(0);
  });

  const follow = (id: string, headers?: Record<string, string>) =>
    followEvents(api.url, api.adminToken, id, headers ? { headers } : {});

  /** A weather build that has run to its end. */
  let finished: { id: string; events: BuildEvent[] } | undefined;

  it("sends every event in order, ids = seq, live from queued to succeeded, then ends", async () => {
    fake.queue(answer.slow(300, answer.message("plan-weather")));
    const created = await builds.create(BRIEF, "stream-weather");
    const stream = await follow(created.id);
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    // The stream stays open while the build waits for its user.
    const first = await stream.until("waiting");
    expect(first[0]?.event).toBe("queued");
    fake.queue(answer.message("code-weather"));
    const waiting = await builds.get(created.id);
    expect(waiting.status).toBe("waiting");
    await builds.confirm(waiting, { units: "metric" });
    // What happens after the confirmation arrives on the stream that was open before it.
    const rest = await stream.rest();
    expect(rest.map((m) => m.event)).toEqual(expect.arrayContaining(["confirmed", "code", "deployed"]));
    expect(rest.at(-1)?.event).toBe("succeeded");

    const stored = await builds.events(created.id);
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1));
    expectStoredEvents([...first, ...rest], stored);
    finished = { id: created.id, events: stored };
  });

  it("resumes right after Last-Event-ID: no gap, no duplicate", async () => {
    const { id, events } = finished ?? expect.unreachable("the first test ran the build");
    const last = events.length;
    for (const after of [1, 2, Math.floor(last / 2), last - 1]) {
      const stream = await follow(id, { "last-event-id": String(after) });
      expectStoredEvents(await stream.rest(), events.slice(after));
    }
    // Without the header, ?after= says where to start.
    const query = await followEvents(api.url, api.adminToken, id, { after: 3 });
    expectStoredEvents(await query.rest(), events.slice(3));
  });

  it("resumes a running build where the dropped connection left it", async () => {
    fake.queue(answer.message("plan-weather"));
    const created = await builds.create(BRIEF, "stream-reconnect");
    const firstConnection = await follow(created.id);
    const seen = await firstConnection.until("plan");
    firstConnection.close();
    const waiting = await builds.until(created.id, "waiting");
    fake.queue(answer.slow(200, answer.message("code-weather")));
    await builds.confirm(waiting, { units: "metric" });
    // The build goes on while nobody listens; the client comes back with the last id it saw.
    const again = await follow(created.id, { "last-event-id": String(seen.at(-1)?.id) });
    const rest = await again.rest();
    expect(rest.at(-1)?.event).toBe("succeeded");
    expectStoredEvents([...seen, ...rest], await builds.events(created.id));
  });

  it("answers 204 to a reconnect after the build's last event, so that EventSource stops", async () => {
    const { id, events } = finished ?? expect.unreachable("the first test ran the build");
    const stream = await follow(id, { "last-event-id": String(events.length) });
    expect(stream.status).toBe(204);
    expect(api.logs.filter((line) => /already sent|does not match its schema/.test(line))).toEqual([]);
  });

  it.each([
    ["a word", "abc"],
    ["a negative number", "-1"],
    ["a fraction", "1.5"],
    ["an exponent", "1e3"],
    ["ten digits", "1234567890"],
    ["an id past the last event", "999"],
  ])("refuses a Last-Event-ID that is %s with a 400 problem", async (_, lastEventId) => {
    const { id } = finished ?? expect.unreachable("the first test ran the build");
    const stream = await follow(id, { "last-event-id": lastEventId });
    expect(stream.status).toBe(400);
    expect(stream.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(stream.body).toMatchObject({ type: expect.stringMatching(/invalid-request/) });
    expect((stream.body as { detail: string }).detail).toMatch(/Last-Event-ID/);
  });

  it("is a 404 for a build of another org, as for no build", async () => {
    const { id } = finished ?? expect.unreachable("the first test ran the build");
    const stranger = await api.tokenFor((await api.signup()).session);
    const token = String(stranger.headers.authorization).replace("Bearer ", "");
    for (const target of [id, "00000000-0000-4000-8000-000000000000"]) {
      const stream = await followEvents(api.url, token, target);
      expect(stream.status).toBe(404);
    }
  });
});

describe("a build's event stream on another node", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let redis: RedisServer | undefined;
  const buses: Bus[] = [];
  let runner: Node;
  let streamer: Node;

  // The instance's first node holds the database and runs no builds; the runner and the stream
  // are on two more nodes, each with a Redis connection of its own, as two processes of a fleet.
  beforeAll(async () => {
    fake = await startModel();
    api = await startBuildApi({ ISOLA_ROLES: "runtime,control" });
    if (!process.env.REDIS_URL) redis = await RedisServer.start();
    const url = process.env.REDIS_URL ?? (redis as RedisServer).url;
    const prefix = `test:${randomBytes(6).toString("hex")}:`;
    for (let node = 0; node < 2; node++) buses.push(await RedisBus.connect({ url, prefix }));
    runner = await startNode(api, buses[0] as Bus, ["control", "worker"]);
    streamer = await startNode(api, buses[1] as Bus, ["control"]);
  }, 60_000);
  afterAll(async () => {
    await streamer?.close();
    await runner?.close();
    for (const bus of buses) await bus.close();
    await redis?.stop();
    await api?.close();
    await fake?.close();
  });

  it("follows, live, what the runner on the other node writes, to the end", async () => {
    const builds = buildClient(streamer.admin);
    fake.queue(answer.slow(300, answer.message("plan-weather")));
    const created = await builds.create(BRIEF, "two-node-weather");
    const stream = await followEvents(streamer.url, api.adminToken, created.id);
    const first = await stream.until("waiting");
    fake.queue(answer.slow(300, answer.message("code-weather")));
    await builds.confirm(await builds.get(created.id), { units: "metric" });
    const rest = await stream.rest();
    expect(rest.at(-1)?.event).toBe("succeeded");
    const stored = await builds.events(created.id);
    expectStoredEvents([...first, ...rest], stored);
    // The runner's node deployed it; the first node's MCP endpoint serves it.
    expect(stored.find((e) => e.type === "deployed")?.data.url).toBe(`${runner.url}/two-node-weather/mcp`);
    const url = `${api.url}/two-node-weather/mcp`;
    const session = await openSession(url);
    const listed = await send(url, {
      body: { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
      headers: session.headers,
    });
    expect(listed.json.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["find_city", "get_forecast"]);
  });
});
