// What the build pipeline's tests share: an instance whose model is the fake Anthropic API,
// more nodes of that instance on its database, a client that drives a build through the API,
// and a reader of a build's Server-Sent Events as they arrive.
import type { Bus, Config, Role } from "@isola/schema";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { expect } from "vitest";
import { composeRoles } from "../../src/compose.ts";
import { buildApp } from "../../src/http/app.ts";
import type { Stores } from "../../src/stores/open-stores.ts";
import { type Api, Client, startApi } from "../support/api-harness.ts";
import { type FakeAnthropic, startFakeAnthropic } from "../support/fake-anthropic.ts";
import { quickDatabase } from "../support/mcp.ts";
import { freePort } from "../support/redis-server.ts";
import { eventually } from "../support/wait.ts";
import type { SseMessage } from "./event-stream-client.ts";

export const MODEL_KEY = "sk-ant-test-key";

export interface BuildBody {
  id: string;
  kind: "new" | "iterate";
  status: string;
  server: string | null;
  round: number;
  version: number | null;
  url: string | null;
  plan: {
    egress: string[];
    questions: { id: string }[];
    tools: { name: string }[];
    secrets: { name: string }[];
  } | null;
  error: { message: string; errors?: { step: string; message: string }[] } | null;
}

export interface BuildEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: string;
}

const FINISHED = ["succeeded", "failed", "cancelled"];

/**
 * The fake Messages API, and ANTHROPIC_BASE_URL pointing at it (the SDK reads it when a
 * runner's model makes its client) until `close()`.
 */
export async function startModel(): Promise<FakeAnthropic> {
  const fake = await startFakeAnthropic();
  const previous = process.env.ANTHROPIC_BASE_URL;
  process.env.ANTHROPIC_BASE_URL = fake.url;
  return {
    ...fake,
    close: async () => {
      if (previous === undefined) delete process.env.ANTHROPIC_BASE_URL;
      else process.env.ANTHROPIC_BASE_URL = previous;
      await fake.close();
    },
  };
}

/** An instance with a model key, listening; `roles` without "worker" queues builds but runs none. */
export function startBuildApi(env: Record<string, string> = {}): Promise<Api> {
  return startApi(quickDatabase(), { ANTHROPIC_API_KEY: MODEL_KEY, ...env }, { listen: true });
}

/** Drives builds through the API as `client`. */
export function buildClient(client: Client) {
  const get = async (id: string) => (await client.get(`builds/${id}`)).body as BuildBody;
  return {
    get,
    /** Waits for the build to reach `status`; fails at once when it ends in another. */
    until: (id: string, status: string, timeoutMs = 30_000) =>
      eventually(async () => {
        const build = await get(id);
        if (build.status === status) return build;
        if (FINISHED.includes(build.status)) {
          throw new Error(`the build ended ${build.status}: ${JSON.stringify(build.error)}`);
        }
        return undefined;
      }, timeoutMs),
    events: async (id: string) => (await client.get(`builds/${id}/events`)).body.items as BuildEvent[],
    /** Queues a build of a new public server; the fake must have its plan queued. */
    async create(prompt: string, slug?: string): Promise<BuildBody> {
      const created = await client.post("builds", { prompt, authMode: "public", ...(slug ? { slug } : {}) });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body as BuildBody;
    },
    /** Confirms a waiting build, approving every host its plan names. */
    async confirm(build: BuildBody, answers: Record<string, string> = {}): Promise<BuildBody> {
      const confirmed = await client.post(`builds/${build.id}/confirm`, {
        answers,
        approvedEgress: build.plan?.egress ?? [],
      });
      expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
      return confirmed.body as BuildBody;
    },
  };
}

export const typesOf = (events: BuildEvent[]) => events.map((event) => event.type);
export const stepsOf = (events: BuildEvent[]) =>
  events.filter((event) => event.type === "step").map((event) => event.data.step);

export interface Node {
  url: string;
  app: FastifyInstance;
  /** The bootstrapped owner's client, on this node. */
  admin: Client;
  close(): Promise<void>;
}

/**
 * Another node of `api`'s instance: `roles` composed on its database and the Bus it is given
 * (a Redis connection of its own, or the MemoryBus of `api` for nodes that share one process).
 */
export async function startNode(api: Api, bus: Bus, roles: Role[]): Promise<Node> {
  const port = await freePort();
  const config: Config = { ...api.config, roles, port, publicUrl: `http://localhost:${port}` };
  const logger = pino({ level: "warn" }, { write: () => {} });
  const stores: Stores = { db: api.stores.db, dbKind: api.stores.dbKind, bus, close: async () => {} };
  const composition = await composeRoles(config, stores, logger);
  const app = await buildApp({ stores, logger, plugins: composition.plugins, urlErrors: composition.urlErrors });
  await app.listen({ port, host: "127.0.0.1" });
  let closed = false;
  return {
    url: config.publicUrl,
    app,
    admin: new Client(app, { authorization: `Bearer ${api.adminToken}` }),
    close: async () => {
      if (closed) return;
      closed = true;
      await app.close();
      await composition.close();
    },
  };
}

/** The stored event an SSE message carries. */
export const eventOf = (message: SseMessage) => JSON.parse(message.data) as BuildEvent;

export { type EventStream, followEvents, type SseMessage } from "./event-stream-client.ts";
