// An org's own model key: on an instance without ANTHROPIC_API_KEY, an org that set one can build,
// and its builds' model requests carry that key (never another org's, never in a response).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { answer, type FakeAnthropic } from "../support/fake-anthropic.ts";
import { quickDatabase } from "../support/mcp.ts";
import { buildClient, startModel } from "./build-harness.ts";

const ORG_KEY = "sk-ant-org-own-key";

describe("an org's own model key", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let org: string;

  beforeAll(async () => {
    fake = await startModel();
    api = await startApi(quickDatabase(), {}, { listen: true });
    org = (await api.admin.get("me")).body.orgs[0].slug;
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await fake?.close();
  });

  it("lets the org build without an instance key, and its model requests carry the org's key", async () => {
    const brief = { prompt: "A server that converts temperatures and lengths", authMode: "public" };
    const refused = await api.admin.post("builds", brief);
    expect(refused.status).toBe(409);
    expect((await api.admin.get(`orgs/${org}/model-key`)).body).toEqual({ set: false, updatedAt: null });

    const set = await api.admin.put(`orgs/${org}/model-key`, { value: ORG_KEY });
    expect(set.status).toBe(200);
    expect(set.body.set).toBe(true);
    expect(JSON.stringify(set.body)).not.toContain(ORG_KEY);
    expect((await api.admin.get(`orgs/${org}/model-key`)).body.set).toBe(true);

    fake.queue(answer.message("plan-units"));
    const builds = buildClient(api.admin);
    const created = await api.admin.post("builds", brief);
    expect(created.status).toBe(201);
    await builds.until(created.body.id, "waiting");
    const request = fake.requests.at(-1);
    const headers = JSON.stringify(request?.headers);
    expect(headers).toContain(ORG_KEY);
    await api.admin.post(`builds/${created.body.id}/cancel`);

    // The key is stored sealed, and an audit entry names the change, not the key.
    const row = await api.stores.db.selectFrom("org_secrets").selectAll().executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(ORG_KEY);
    const audit = await api.stores.db.selectFrom("audit_log").select(["action", "detail"]).execute();
    expect(audit.map((entry) => entry.action)).toContain("org.model-key.set");
    expect(JSON.stringify(audit)).not.toContain(ORG_KEY);

    expect((await api.admin.delete(`orgs/${org}/model-key`)).status).toBe(204);
    expect((await api.admin.post("builds", brief)).status).toBe(409);
  });
});
