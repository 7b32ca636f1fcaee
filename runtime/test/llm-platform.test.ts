import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type Database, migrateToLatest } from "@isola/schema";
import type { Kysely } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NO_KEY_MESSAGE, platformLlm } from "../src/llm/platform-llm.ts";
import type { OpenDatabase } from "../src/stores/database.ts";
import { type Api, startApi } from "./support/api-harness.ts";
import { type DatabaseBackend, databaseBackends } from "./support/backends.ts";
import { ACCEPT_BOTH, deploySource, initializeRequest } from "./support/mcp.ts";

// ctx.llm as the composition root builds it: the org's key or the instance's, the Anthropic
// Messages API (a small fake on loopback speaking its non-streaming JSON), and a row of
// usage per org, server and minute. Then the same through the whole app: a deployed tool
// calls ctx.llm and the usage lands in llm_usage.

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: { model: string; max_tokens: number; system?: string; messages: { role: string; content: string }[] };
}
const seen: Seen[] = [];
/** The key a request carried: the SDK sends it as a bearer token (older versions: x-api-key). */
const keyOf = (headers: IncomingHttpHeaders) => headers["x-api-key"] ?? headers.authorization?.replace(/^Bearer /, "");
/** What the fake answers next (status and JSON); after these, a normal message. */
const replies: { status: number; body: unknown }[] = [];
let fake: Server;
let fakeUrl = "";

const message = (model: string) => ({
  id: "msg_01XFDUDYJgAACzvnptvVoYEL",
  type: "message",
  role: "assistant",
  model,
  content: [
    { type: "text", text: "Paris is" },
    { type: "text", text: " the capital." },
  ],
  stop_reason: "end_turn",
  stop_sequence: null,
  usage: { input_tokens: 21, output_tokens: 6, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 },
});
const apiError = (status: number, type: string, text: string) => ({
  status,
  body: { type: "error", error: { type, message: text }, request_id: "req_011CSHoEeqs5C35K2UUqR7Fy" },
});

beforeAll(async () => {
  fake = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString()) as Seen["body"];
    seen.push({ path: request.url ?? "", headers: request.headers, body });
    const reply = replies.shift() ?? { status: 200, body: message(body.model) };
    response.writeHead(reply.status, { "content-type": "application/json" }).end(JSON.stringify(reply.body));
  });
  fake.listen(0, "127.0.0.1");
  await once(fake, "listening");
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
});
afterAll(async () => {
  fake.closeAllConnections();
  await new Promise((resolve) => fake.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  replies.length = 0;
});

const REQUEST = { prompt: "What is the capital of France?", system: "Answer in one sentence.", maxTokens: 64 };
const caller = (serverId: string, orgId?: string) => ({
  serverId,
  ...(orgId ? { orgId } : {}),
  signal: new AbortController().signal,
});

describe("platformLlm", () => {
  let database: OpenDatabase;
  let db: Kysely<Database>;
  let orgId = "";
  let serverId = "";
  let now = new Date("2026-03-01T10:15:30Z");
  const orgKeys = new Map<string, string>();
  const llm = (instanceKey: string | undefined) =>
    platformLlm({
      db,
      model: "claude-haiku-5-5",
      instanceKey,
      orgKey: async (org) => orgKeys.get(org),
      baseURL: fakeUrl,
      now: () => now,
    });
  const usage = () =>
    db.selectFrom("llm_usage").selectAll().orderBy("minute").execute() as Promise<Record<string, unknown>[]>;

  beforeAll(async () => {
    database = await (databaseBackends().at(-1) as DatabaseBackend).open();
    db = database.db;
    await migrateToLatest(db);
    const org = await db
      .insertInto("orgs")
      .values({ slug: "acme", name: "Acme" })
      .returning("id")
      .executeTakeFirstOrThrow();
    const server = await db
      .insertInto("servers")
      .values({
        org_id: org.id,
        slug: "asker",
        name: "Asker",
        auth_mode: "public",
        access_policy: JSON.stringify({ kind: "org" }),
        egress_approved: "[]",
      })
      .returning("id")
      .executeTakeFirstOrThrow();
    orgId = org.id;
    serverId = server.id;
  }, 60_000);
  afterAll(() => database?.close());
  beforeEach(async () => {
    orgKeys.clear();
    await db.deleteFrom("llm_usage").execute();
  });

  it("asks the Messages API with the org's key, and answers the text and the tokens", async () => {
    orgKeys.set(orgId, "sk-ant-org");
    const result = await llm("sk-ant-instance")(REQUEST, caller(serverId, orgId));
    expect(result).toEqual({ text: "Paris is the capital.", usage: { inputTokens: 25, outputTokens: 6 } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.path).toBe("/v1/messages");
    expect(keyOf(seen[0]?.headers ?? {})).toBe("sk-ant-org");
    expect(seen[0]?.body).toMatchObject({
      model: "claude-haiku-5-5",
      max_tokens: 64,
      system: "Answer in one sentence.",
      messages: [{ role: "user", content: "What is the capital of France?" }],
    });
  });

  it("uses the instance's key when the org has none, and finds the org from the server", async () => {
    await llm("sk-ant-instance")({ prompt: "hi", maxTokens: 10 }, caller(serverId));
    expect(keyOf(seen[0]?.headers ?? {})).toBe("sk-ant-instance");
    expect(seen[0]?.body.system).toBeUndefined();
    expect(await usage()).toMatchObject([{ org_id: orgId, server_id: serverId }]);
  });

  it("without any key, fails with how to set one, asks nothing and meters nothing", async () => {
    await expect(llm(undefined)(REQUEST, caller(serverId, orgId))).rejects.toThrow(NO_KEY_MESSAGE);
    expect(NO_KEY_MESSAGE).toMatch(/model-key.*ANTHROPIC_API_KEY.*ANTHROPIC_API_KEY/);
    expect(seen).toEqual([]);
    expect(await usage()).toEqual([]);
  });

  it("meters calls and tokens per org, server and minute", async () => {
    const complete = llm("sk-ant-instance");
    await complete(REQUEST, caller(serverId, orgId));
    now = new Date("2026-03-01T10:15:59Z");
    await complete(REQUEST, caller(serverId, orgId));
    now = new Date("2026-03-01T10:16:01Z");
    await complete(REQUEST, caller(serverId, orgId));
    const rows = await usage();
    expect(rows.map((row) => ({ ...row, minute: (row.minute as Date).toISOString() }))).toEqual([
      {
        org_id: orgId,
        server_id: serverId,
        minute: "2026-03-01T10:15:00.000Z",
        calls: 2,
        input_tokens: 50,
        output_tokens: 12,
      },
      {
        org_id: orgId,
        server_id: serverId,
        minute: "2026-03-01T10:16:00.000Z",
        calls: 1,
        input_tokens: 25,
        output_tokens: 6,
      },
    ]);
  });

  it.each([
    [401, "authentication_error", /^the model API refused the key \(401\): check the org's ANTHROPIC_API_KEY secret/],
    [429, "rate_limit_error", /^the model API is rate limiting this key \(429\)/],
    [404, "not_found_error", /^the model API does not know the model claude-haiku-5-5 \(404\)$/],
    [500, "api_error", /^the model API answered 500$/],
  ])(
    "an answer %i becomes a message for the tool's author, without the key, and is not metered",
    async (status, type, expected) => {
      replies.push(apiError(status, type, "something went wrong"));
      const failure = llm("sk-ant-secret-value")(REQUEST, caller(serverId, orgId));
      await expect(failure).rejects.toThrow(expected);
      await expect(failure).rejects.not.toThrow(/sk-ant/);
      expect(seen).toHaveLength(1);
      expect(await usage()).toEqual([]);
    },
  );

  it("refuses a server the instance does not store", async () => {
    await expect(llm("k")(REQUEST, caller("00000000-0000-4000-8000-000000000000"))).rejects.toThrow(
      "ctx.llm is available only to servers stored on this instance",
    );
    expect(seen).toEqual([]);
  });
});

describe("ctx.llm through the composed app", () => {
  const SOURCE = `import { defineServer, tool, z } from "isola";
defineServer({
  name: "asker",
  tools: {
    ask: tool({
      description: "Asks the model",
      input: z.object({ question: z.string() }),
      async run({ question }, ctx) {
        const answer = await ctx.llm.complete({ prompt: question, maxTokens: 100 });
        return { text: answer.text, tokens: answer.usage.inputTokens + answer.usage.outputTokens };
      },
    }),
  },
});
`;
  let api: Api;
  const savedBaseUrl = process.env.ANTHROPIC_BASE_URL;
  beforeAll(async () => {
    // The SDK reads ANTHROPIC_BASE_URL from the environment itself.
    process.env.ANTHROPIC_BASE_URL = fakeUrl;
    api = await startApi(databaseBackends().at(-1), { ANTHROPIC_API_KEY: "sk-ant-instance" });
    await deploySource(api.admin, "asker", SOURCE);
    await deploySource(api.admin, "own-key", SOURCE);
    const secret = await api.admin.put("servers/own-key/secrets/ANTHROPIC_API_KEY", { value: "sk-ant-own" });
    expect(secret.status).toBe(200);
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    if (savedBaseUrl === undefined) delete process.env.ANTHROPIC_BASE_URL;
    else process.env.ANTHROPIC_BASE_URL = savedBaseUrl;
  });

  async function ask(slug: string, question: string) {
    const post = async (body: unknown, headers: Record<string, string> = {}) => {
      const response = await api.app.inject({
        method: "POST",
        url: `/${slug}/mcp`,
        headers: { "content-type": "application/json", accept: ACCEPT_BOTH, ...headers },
        payload: JSON.stringify(body),
      });
      return { headers: response.headers, body: JSON.parse(response.body) };
    };
    const initialized = await post(initializeRequest());
    const session = {
      "mcp-session-id": String(initialized.headers["mcp-session-id"]),
      "mcp-protocol-version": initialized.body.result.protocolVersion,
    };
    const called = await post(
      { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "ask", arguments: { question } } },
      session,
    );
    return called.body.result as { structuredContent?: unknown; isError?: boolean; content: { text: string }[] };
  }

  it("answers a tool with the instance's key and meters the server's org", async () => {
    const result = await ask("asker", "Capital of France?");
    expect(result.structuredContent).toEqual({ text: "Paris is the capital.", tokens: 31 });
    expect(seen.map((s) => [keyOf(s.headers), s.body.max_tokens, s.body.messages[0]?.content])).toEqual([
      ["sk-ant-instance", 100, "Capital of France?"],
    ]);
    const server = await api.stores.db
      .selectFrom("servers")
      .select(["id", "org_id"])
      .where("slug", "=", "asker")
      .executeTakeFirstOrThrow();
    const rows = await api.stores.db.selectFrom("llm_usage").selectAll().where("server_id", "=", server.id).execute();
    expect(rows).toMatchObject([{ org_id: server.org_id, calls: 1, input_tokens: 25, output_tokens: 6 }]);
  });

  it("uses the server's own ANTHROPIC_API_KEY secret over the instance's", async () => {
    await ask("own-key", "Capital of Spain?");
    expect(seen.map((s) => keyOf(s.headers))).toEqual(["sk-ant-own"]);
  });

  it("uses the org's own model key over the server's and the instance's", async () => {
    const org = (await api.admin.get("me")).body.orgs[0].slug;
    expect((await api.admin.put(`orgs/${org}/model-key`, { value: "sk-ant-org" })).status).toBe(200);
    try {
      await ask("own-key", "Capital of Italy?");
      await ask("asker", "Capital of Portugal?");
      expect(seen.map((s) => keyOf(s.headers))).toEqual(["sk-ant-org", "sk-ant-org"]);
    } finally {
      await api.admin.delete(`orgs/${org}/model-key`);
    }
  });

  it("a model error reaches the tool as an error it can read", async () => {
    replies.push(apiError(401, "authentication_error", "invalid x-api-key"));
    const result = await ask("asker", "Anyone there?");
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/the model API refused the key \(401\)/);
  });
});
