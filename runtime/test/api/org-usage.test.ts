import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emptyHistogram, type OrgUsageView } from "@isola/schema";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, HELLO_SOURCE, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { deploySource } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";
import { adminOrg, memberOf, newOrg } from "./orgs-people.ts";

// GET /orgs/{org}/usage: the calls an MCP client made this month against the plan's quota (the
// quota's own refusals included), per server; ctx.llm's tokens; a past month; nothing of another org.

/** Six calls a month: the seventh and eighth are refused by the quota. */
const PLAN = { id: "default", name: "Tiny", maxServers: 10, callsPerMonth: 6, memoryMb: 64, rateLimitPerMinute: 1000 };

const monthStart = (offset: number, now = new Date()) =>
  new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));

describe.each(databaseBackends())("an org's usage on $name", (backend) => {
  const dir = mkdtempSync(join(tmpdir(), "isola-org-usage-"));
  let api: Api;
  let org: string;
  let other: { slug: string; session: Api["admin"] };

  /** The ids usage rows carry for the server `slug`. */
  const serverIds = (slug: string) =>
    api.stores.db.selectFrom("servers").select(["id", "org_id"]).where("slug", "=", slug).executeTakeFirstOrThrow();

  /** Rows of usage_minutely for `slug`, written directly (other orgs, other months). */
  async function usageRows(slug: string, rows: { minute: Date; outcome: string; calls: number }[]): Promise<void> {
    const server = await serverIds(slug);
    await api.stores.db
      .insertInto("usage_minutely")
      .values(
        rows.map((row) => ({
          server_id: server.id,
          org_id: server.org_id,
          minute: row.minute,
          version: 1,
          tool: "hello",
          caller: "fixture",
          outcome: row.outcome as "ok",
          calls: row.calls,
          duration_ms: row.calls,
          bytes_in: 0,
          bytes_out: 0,
          latency_histogram: emptyHistogram(),
        })),
      )
      .execute();
  }

  async function llmRows(slug: string, rows: { minute: Date; calls: number; input: number; output: number }[]) {
    const server = await serverIds(slug);
    await api.stores.db
      .insertInto("llm_usage")
      .values(
        rows.map((row) => ({
          org_id: server.org_id,
          server_id: server.id,
          minute: row.minute,
          calls: row.calls,
          input_tokens: row.input,
          output_tokens: row.output,
        })),
      )
      .execute();
  }

  beforeAll(async () => {
    const plans = join(dir, "plans.json");
    writeFileSync(plans, JSON.stringify([PLAN]));
    api = await startApi(backend, { ISOLA_PLANS_FILE: plans }, { listen: true });
    org = await adminOrg(api);
    await deploySource(api.admin, "metered", HELLO_SOURCE);
    // A second server of the org, never called through MCP: its usage is written directly.
    expect((await api.admin.post("servers", { slug: "quiet", name: "Quiet", authMode: "public" })).status).toBe(201);
    const elsewhere = await newOrg(api);
    other = { slug: elsewhere.slug, session: elsewhere.owner.session };
    const created = await other.session.post("servers", { slug: "theirs", name: "Theirs", authMode: "public" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("adds up the month's calls against the quota, per server, with ctx.llm's tokens; never another org's", async () => {
    const client = new McpClient({ name: "org-usage-test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${api.url}/metered/mcp`)));
    try {
      for (let i = 0; i < 4; i++) {
        expect(await client.callTool({ name: "hello", arguments: { name: `n${i}` } })).toMatchObject({
          content: [{ text: `Hello, n${i}!` }],
        });
      }
      // Refused by the tool's input schema: a tool error.
      expect(await client.callTool({ name: "hello", arguments: { name: "" } })).toMatchObject({ isError: true });
      // A tool the server does not have: a protocol error, still counted against the quota.
      await expect(client.callTool({ name: "nope", arguments: {} })).rejects.toThrow();
      // The quota (6) is spent: these two are refused with a 429.
      for (let i = 0; i < 2; i++) {
        await expect(client.callTool({ name: "hello", arguments: { name: "over" } })).rejects.toThrow(/429|quota/);
      }
    } finally {
      await client.close();
    }

    const now = new Date();
    const thisMonth = monthStart(0, now);
    const nextMonth = monthStart(1, now);
    const lastMonth = monthStart(-1, now);
    await usageRows("quiet", [
      { minute: thisMonth, outcome: "ok", calls: 2 },
      { minute: thisMonth, outcome: "timeout", calls: 1 },
      // Outside the month, on both sides.
      { minute: new Date(thisMonth.getTime() - 60_000), outcome: "ok", calls: 50 },
      { minute: nextMonth, outcome: "ok", calls: 70 },
    ]);
    await usageRows("theirs", [{ minute: thisMonth, outcome: "ok", calls: 1000 }]);
    await llmRows("metered", [
      { minute: thisMonth, calls: 2, input: 300, output: 40 },
      { minute: new Date(thisMonth.getTime() + 120_000), calls: 1, input: 25, output: 5 },
      { minute: lastMonth, calls: 9, input: 900, output: 90 },
    ]);
    await llmRows("quiet", [{ minute: thisMonth, calls: 1, input: 10, output: 1 }]);
    await llmRows("theirs", [{ minute: thisMonth, calls: 100, input: 100_000, output: 10_000 }]);

    // The runtime flushes usage every 5 s.
    const view = await eventually(async () => {
      const response = await api.admin.get<OrgUsageView>(`orgs/${org}/usage`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body.servers.find((server) => server.slug === "metered")?.calls === 8 ? response.body : undefined;
    }, 15_000);
    expect(view).toEqual({
      org,
      month: now.toISOString().slice(0, 7),
      period: { from: thisMonth.toISOString(), to: nextMonth.toISOString() },
      // metered: 4 ok + 1 tool error + 1 unknown tool, then 2 refused; quiet: 3 in the month.
      calls: { used: 9, limit: 6, refused: 2 },
      servers: [
        { slug: "metered", name: "metered", calls: 8, errors: 4 },
        { slug: "quiet", name: "Quiet", calls: 3, errors: 1 },
      ],
      llm: { calls: 4, inputTokens: 335, outputTokens: 46 },
    });

    // The other org sees its own, and only its own.
    const theirs = await other.session.get<OrgUsageView>(`orgs/${other.slug}/usage`);
    expect(theirs.status).toBe(200);
    expect(theirs.body).toMatchObject({
      calls: { used: 1000, limit: 6, refused: 0 },
      servers: [{ slug: "theirs", name: "Theirs", calls: 1000, errors: 0 }],
      llm: { calls: 100, inputTokens: 100_000, outputTokens: 10_000 },
    });
  }, 60_000);

  it("reads a past month with ?month=, from its first instant to the next month's", async () => {
    const now = new Date();
    const from = monthStart(-3, now);
    const to = monthStart(-2, now);
    const month = from.toISOString().slice(0, 7);
    await usageRows("quiet", [
      { minute: from, outcome: "ok", calls: 5 },
      { minute: new Date(to.getTime() - 60_000), outcome: "limit", calls: 2 },
      { minute: to, outcome: "ok", calls: 40 },
    ]);
    await llmRows("quiet", [{ minute: from, calls: 3, input: 30, output: 3 }]);
    const response = await api.admin.get<OrgUsageView>(`orgs/${org}/usage?month=${month}`);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      org,
      month,
      period: { from: from.toISOString(), to: to.toISOString() },
      calls: { used: 5, limit: 6, refused: 2 },
      servers: [{ slug: "quiet", name: "Quiet", calls: 7, errors: 2 }],
      llm: { calls: 3, inputTokens: 30, outputTokens: 3 },
    });
    // A month without usage: zeros, no servers.
    const empty = await api.admin.get<OrgUsageView>(`orgs/${org}/usage?month=2001-02`);
    expect(empty.body).toMatchObject({
      period: { from: "2001-02-01T00:00:00.000Z", to: "2001-03-01T00:00:00.000Z" },
      calls: { used: 0, limit: 6, refused: 0 },
      servers: [],
      llm: { calls: 0, inputTokens: 0, outputTokens: 0 },
    });
  });

  it("a viewer reads it; a non-member gets 404 and nobody 401", async () => {
    const viewer = await memberOf(api, org, "viewer");
    const seen = await viewer.session.get<OrgUsageView>(`orgs/${org}/usage`);
    expect(seen.status).toBe(200);
    expect(seen.body.org).toBe(org);
    const outsider = await newOrg(api);
    const refused = await outsider.owner.session.get(`orgs/${org}/usage`);
    expect(refused.status).toBe(404);
    expect(refused.body).toMatchObject({ type: "urn:isola:problem:not-found", detail: `no org called ${org}` });
    // A token acts in its own org only: another org is not there for it.
    expect((await api.admin.get(`orgs/${other.slug}/usage`)).status).toBe(404);
    expect((await api.anonymous.get(`orgs/${org}/usage`)).status).toBe(401);
  });

  it.each([
    ["month=2026-13", /a month such as 2026-01 \(YYYY-MM\).*at month/],
    ["month=2026-1", /a month such as 2026-01 \(YYYY-MM\).*at month/],
    ["month=January", /a month such as 2026-01 \(YYYY-MM\).*at month/],
    ["month=1969-12", /month 1969-12 is before 1970-01/],
    ["month=9999-12", /month 9999-12 has not begun/],
    ["from=2026-01-01T00:00:00Z", /Unrecognized key: "from"/],
  ])("refuses ?%s with a 400 problem", async (query, detail) => {
    const response = await api.admin.get(`orgs/${org}/usage?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ type: "urn:isola:problem:invalid-request" });
    expect(response.body.detail).toMatch(detail);
  });
});
