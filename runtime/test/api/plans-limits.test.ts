import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../support/api-harness.ts";
import { startApi } from "../support/api-harness.ts";
import { type DatabaseBackend, databaseBackends } from "../support/backends.ts";

const dir = mkdtempSync(join(tmpdir(), "isola-plans-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plansFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const TINY = { id: "default", name: "Tiny", maxServers: 2, callsPerMonth: 1000, memoryMb: 32, rateLimitPerMinute: 60 };
const TEAM = {
  id: "team",
  name: "Team",
  maxServers: 100,
  callsPerMonth: 5_000_000,
  memoryMb: 128,
  rateLimitPerMinute: 6000,
};

describe.each(databaseBackends())("plans from ISOLA_PLANS_FILE on $name", (backend) => {
  let api: Api;
  let org: string;
  beforeAll(async () => {
    api = await startApi(backend, { ISOLA_PLANS_FILE: plansFile(`${backend.name}.json`, [TINY, TEAM]) });
    org = (await api.admin.get("me")).body.orgs[0].slug;
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });

  it("lists the file's plans to anyone signed in, and gives new orgs its default", async () => {
    const plans = await api.admin.get("plans");
    expect(plans.status).toBe(200);
    expect(plans.body.items).toEqual([TINY, TEAM]);
    expect((await api.anonymous.get("plans")).status).toBe(401);
    expect((await api.admin.get(`orgs/${org}`)).body.plan).toEqual(TINY);
  });

  it("refuses a server beyond the plan's maxServers with 403 plan-limit, and allows one again after a delete", async () => {
    for (const slug of ["quota-one", "quota-two"]) {
      expect((await api.admin.post("servers", { slug, name: slug, authMode: "public" })).status).toBe(201);
    }
    const third = await api.admin.post("servers", { slug: "quota-three", name: "3", authMode: "public" });
    expect(third.status).toBe(403);
    expect(third.body).toMatchObject({
      type: "urn:isola:problem:plan-limit",
      detail: expect.stringMatching(/Tiny plan allows 2/),
    });
    expect((await api.admin.get(`orgs/${org}`)).body.servers).toBe(2);
    expect((await api.admin.get("servers/quota-three")).status).toBe(404);
    await api.admin.delete("servers/quota-two");
    expect((await api.admin.post("servers", { slug: "quota-three", name: "3", authMode: "public" })).status).toBe(201);
  });
});

describe("plans files on the first database backend", () => {
  const backend = databaseBackends()[0] as DatabaseBackend;

  it("keeps the built-in default plan when the file does not redefine it", async () => {
    const api = await startApi(backend, { ISOLA_PLANS_FILE: plansFile("team-only.json", [TEAM]) });
    try {
      const ids = (await api.admin.get("plans")).body.items.map((p: { id: string }) => p.id);
      expect(ids).toEqual(["default", "team"]);
    } finally {
      await api.close();
    }
  }, 60_000);

  it.each([
    ["an invalid file", [{ ...TINY, maxServers: -1 }], /^ISOLA_PLANS_FILE \/.*\/bad\.json: .*\[0\]\.maxServers: /],
    ["a missing file", undefined, /^ISOLA_PLANS_FILE \/.*\/missing\.json: cannot read it \(ENOENT\)$/],
  ])(
    "stops the start with one line naming %s",
    async (_case, content, message) => {
      const path = content === undefined ? join(dir, "missing.json") : plansFile("bad.json", content);
      await expect(startApi(backend, { ISOLA_PLANS_FILE: path })).rejects.toThrow(message);
    },
    60_000,
  );
});
