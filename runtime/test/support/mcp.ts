// Helpers for tests that speak MCP Streamable HTTP to a server's endpoint: deploying a source,
// raw requests (over a socket with fetch, or in-process with app.inject), SSE parsing, sessions.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Bus, Config } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { composeRoles } from "../../src/compose.ts";
import { buildApp } from "../../src/http/app.ts";
import { MemoryBus } from "../../src/stores/memory-bus.ts";
import type { Stores } from "../../src/stores/open-stores.ts";
import { RedisBus } from "../../src/stores/redis-bus.ts";
import type { Api, Client } from "./api-harness.ts";
import { busBackends, type DatabaseBackend, databaseBackends } from "./backends.ts";
import { freePort } from "./redis-server.ts";

export const EVERYTHING_SOURCE = readFileSync(
  new URL("../../../examples/everything/index.ts", import.meta.url),
  "utf8",
);

/** A server for what examples/everything does not show: a cancellable slow tool, slow progress, who is calling. */
export const PROBE_SOURCE = `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "probe",
  version: "1.0.0",
  description: "Test probe",
  tools: {
    wait_for_cancel: tool({
      description: "Waits until the call is cancelled, or 20 seconds",
      input: z.object({ label: z.string() }),
      async run({ label }, ctx) {
        const finished = await new Promise<string>((resolve) => {
          const timer = setTimeout(() => resolve("finished"), 20000);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            ctx.log.warning("aborted " + label);
            resolve("aborted");
          });
        });
        return finished;
      },
    }),
    count_slowly: tool({
      description: "Reports progress from 1 to n, 200 ms apart",
      input: z.object({ to: z.number().int().min(1).max(10) }),
      async run({ to }, ctx) {
        for (let done = 1; done <= to; done++) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          ctx.progress(done, to);
        }
        return "counted to " + to;
      },
    }),
    whoami: tool({
      description: "Says what the tool code can see of its caller",
      input: z.object({}),
      run: (_input, ctx) => ({ user: ctx.user, env: ctx.env, context: Object.keys(ctx) }),
    }),
  },
});
`;

export const ACCEPT_BOTH = "application/json, text/event-stream";

/** Creates a server with `extra` settings, uploads `source` and deploys it. */
export async function deploySource(
  client: Client,
  slug: string,
  source: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const created = await client.post("servers", { slug, name: slug, authMode: "public", ...extra });
  if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
  const version = await client.post(`servers/${slug}/versions`, { source });
  if (version.status !== 201) throw new Error(`version failed: ${JSON.stringify(version.body)}`);
  const deployed = await client.post(`servers/${slug}/deploy`, { version: version.body.number });
  if (deployed.status !== 200) throw new Error(`deploy failed: ${JSON.stringify(deployed.body)}`);
}

/** Changes a server's settings (PATCH with the If-Match it needs). */
export async function updateServer(client: Client, slug: string, change: Record<string, unknown>): Promise<void> {
  const current = await client.get(`servers/${slug}`);
  const updated = await client.patch(`servers/${slug}`, change, { "if-match": String(current.headers.etag) });
  if (updated.status !== 200) throw new Error(`update failed: ${JSON.stringify(updated.body)}`);
}

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

/** Parses a complete text/event-stream body. */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block.trim() === "") continue;
    const event: SseEvent = { data: "" };
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") event.id = value;
      else if (field === "event") event.event = value;
      else if (field === "data") data.push(value);
    }
    event.data = data.join("\n");
    events.push(event);
  }
  return events;
}

/** The JSON-RPC messages of an SSE body (the priming event carries none). */
export function messagesOf(events: SseEvent[]): Record<string, unknown>[] {
  return events.filter((event) => event.data !== "").map((event) => JSON.parse(event.data));
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  contentType: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
  json: any;
  events: SseEvent[];
}

function answerOf(status: number, headers: Record<string, string>, text: string): Answer {
  const contentType = headers["content-type"] ?? "";
  let json: unknown;
  if (contentType.startsWith("application/json") && text) json = JSON.parse(text);
  const events = contentType.startsWith("text/event-stream") ? parseSse(text) : [];
  return { status, headers, text, contentType, json, events };
}

/** One request over a real socket. */
export async function send(
  url: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const method = options.method ?? "POST";
  const response = await fetch(url, {
    method,
    headers: {
      ...(method === "POST" ? { "content-type": "application/json", accept: ACCEPT_BOTH } : {}),
      ...options.headers,
    },
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    signal: AbortSignal.timeout(10_000),
  });
  return answerOf(response.status, Object.fromEntries(response.headers), await response.text());
}

/** One request in-process (the whole Fastify stack, no socket). Headers set to undefined are left out. */
export async function inject(
  app: FastifyInstance,
  url: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string | undefined> } = {},
): Promise<Answer> {
  const method = options.method ?? "POST";
  const headers: Record<string, string> = {};
  const defaults = method === "POST" ? { "content-type": "application/json", accept: ACCEPT_BOTH } : {};
  for (const [name, value] of Object.entries({ ...defaults, ...options.headers }))
    if (value !== undefined) headers[name] = value;
  const response = await app.inject({
    method: method as "POST",
    url,
    headers,
    ...(options.body === undefined ? {} : { payload: options.body }),
  });
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) if (value !== undefined) flat[name] = String(value);
  return answerOf(response.statusCode, flat, response.body);
}

export const initializeRequest = (protocolVersion = "2025-11-25", id: string | number = 1) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: {
    protocolVersion,
    capabilities: { sampling: {}, elicitation: {} },
    clientInfo: { name: "isola-test", version: "1.0.0" },
  },
});

/** initialize + notifications/initialized over a socket; returns the session's headers for later requests. */
export async function openSession(
  url: string,
  options: { protocolVersion?: string; headers?: Record<string, string> } = {},
): Promise<{ headers: Record<string, string>; sessionId: string; protocolVersion: string }> {
  const initialized = await send(url, {
    body: initializeRequest(options.protocolVersion),
    ...(options.headers ? { headers: options.headers } : {}),
  });
  if (initialized.status !== 200) throw new Error(`initialize: ${initialized.status} ${initialized.text}`);
  const sessionId = initialized.headers["mcp-session-id"] as string;
  const protocolVersion = initialized.json.result.protocolVersion as string;
  const headers = { ...options.headers, "mcp-session-id": sessionId, "mcp-protocol-version": protocolVersion };
  const notified = await send(url, { body: { jsonrpc: "2.0", method: "notifications/initialized" }, headers });
  if (notified.status !== 202) throw new Error(`initialized: ${notified.status} ${notified.text}`);
  return { headers, sessionId, protocolVersion };
}

/**
 * Another node of the same instance: the runtime role alone, on its own port, sharing the
 * database of `api` and the Bus it is given (a Redis connection of its own, or a shared MemoryBus).
 */
export async function startRuntimeNode(
  api: Api,
  bus: Bus,
): Promise<{ url: string; logs: string[]; close(): Promise<void> }> {
  const port = await freePort();
  const config: Config = { ...api.config, roles: ["runtime"], port, publicUrl: `http://localhost:${port}` };
  const logs: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(line) });
  const stores: Stores = { db: api.stores.db, dbKind: api.stores.dbKind, bus, close: async () => {} };
  const composition = await composeRoles(config, stores, logger);
  const app = await buildApp({ stores, logger, plugins: composition.plugins, urlErrors: composition.urlErrors });
  await app.listen({ port, host: "127.0.0.1" });
  return {
    url: config.publicUrl,
    logs,
    close: async () => {
      await app.close();
      await composition.close();
    },
  };
}

type RuntimeNode = Awaited<ReturnType<typeof startRuntimeNode>>;

/**
 * Two runtime nodes of the instance `api` (one database, one Bus): on Redis when REDIS_URL is set
 * (two connections to one key space, as two processes of a fleet), else one shared in-process bus.
 */
export async function startTwoRuntimeNodes(
  api: Api,
): Promise<{ kind: "memory" | "redis"; a: RuntimeNode; b: RuntimeNode; close(): Promise<void> }> {
  const kind = (busBackends().at(-1) as { name: "memory" | "redis" }).name;
  const buses: Bus[] = [];
  if (kind === "redis") {
    const prefix = `test:${randomBytes(6).toString("hex")}:`;
    for (let node = 0; node < 2; node++)
      buses.push(await RedisBus.connect({ url: process.env.REDIS_URL as string, prefix }));
  } else {
    const shared = new MemoryBus();
    buses.push(shared, shared);
  }
  const a = await startRuntimeNode(api, buses[0] as Bus);
  const b = await startRuntimeNode(api, buses[1] as Bus);
  return {
    kind,
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
      for (const bus of new Set(buses)) await bus.close();
    },
  };
}

/** PostgreSQL when DATABASE_URL is set (a new database opens in ~1 s), else embedded PGlite (initdb takes seconds). */
export const quickDatabase = (): DatabaseBackend => databaseBackends().at(-1) as DatabaseBackend;
