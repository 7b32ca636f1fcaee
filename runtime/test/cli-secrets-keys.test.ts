import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apiKeyList, auditEntryView, createdApiKey, page, secretList, secretSetView } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Instance, isola, REPO, startInstance } from "./support/cli.ts";

const auditPage = page(auditEntryView);

// secrets, keys and audit: the commands against the routes issue 4 specifies. Every output of
// the run is kept, to check that a secret's value and a key never show up where they should not.
let instance: Instance;
let work: string;
const outputs: string[] = [];
const SECRET_VALUE = "s3cr3t-value-for-the-cli-test";

beforeAll(async () => {
  instance = await startInstance();
  work = mkdtempSync(join(tmpdir(), "isola-cli-secrets-"));
  const dir = join(work, "weather");
  mkdirSync(dir);
  const hello = readFileSync(join(REPO, "examples/hello/index.ts"), "utf8");
  writeFileSync(
    join(dir, "index.ts"),
    hello.replace('name: "hello",', 'name: "weather",\n  secrets: ["WEATHER_KEY"],'),
  );
  const deployed = await run(["deploy", dir, "--slug", "weather"]);
  expect(deployed.status).toBe(0);
  expect(deployed.stdout).toContain("It reads the secret WEATHER_KEY: isola secrets set weather WEATHER_KEY\n");
});
afterAll(async () => {
  await instance?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function run(args: string[], input?: string) {
  const result = await isola(args, { env: instance.env, ...(input === undefined ? {} : { input }) });
  outputs.push(result.stdout, result.stderr);
  return result;
}

describe("isola secrets", () => {
  it("lists a declared secret as not set, sets it from stdin, lists it as set, deletes it", async () => {
    const before = await run(["secrets", "ls", "weather", "--json"]);
    expect(before.status).toBe(0);
    expect(secretList.parse(JSON.parse(before.stdout)).items).toEqual([
      { name: "WEATHER_KEY", declared: true, set: false, updatedAt: null, revision: null },
    ]);

    const set = await run(["secrets", "set", "weather", "WEATHER_KEY"], `${SECRET_VALUE}\n`);
    expect(set.stderr).toBe("");
    expect(set.status).toBe(0);
    expect(set.stdout).toBe("Set WEATHER_KEY on weather. Its value is never shown again.\n");

    const json = await run(["secrets", "set", "weather", "OTHER_KEY", "--json"], SECRET_VALUE);
    expect(json.status).toBe(0);
    expect(secretSetView.parse(JSON.parse(json.stdout)).name).toBe("OTHER_KEY");

    const listed = await run(["secrets", "ls", "weather"]);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/^NAME +SET +DECLARED +UPDATED\n/);
    expect(listed.stdout).toMatch(/\nOTHER_KEY +yes +no +\d{4}-/);
    expect(listed.stdout).toMatch(/\nWEATHER_KEY +yes +yes +\d{4}-/);

    const removed = await run(["secrets", "rm", "weather", "OTHER_KEY"]);
    expect(removed).toMatchObject({ status: 0, stdout: "Deleted OTHER_KEY from weather.\n" });
    const after = secretList.parse(JSON.parse((await run(["secrets", "ls", "weather", "--json"])).stdout));
    expect(after.items.map((s) => [s.name, s.set])).toEqual([["WEATHER_KEY", true]]);
  });

  it("answers an unknown server with the API's message", async () => {
    const result = await run(["secrets", "ls", "no-such-server"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^isola: .*no-such-server.*\n$/);
  });
});

describe("isola keys", () => {
  it("creates a key shown once, lists it by prefix only, and revokes it", async () => {
    const created = await run([
      "keys",
      "create",
      "weather",
      "--name",
      "ci",
      "--rate-limit",
      "60",
      "--expires-in-days",
      "30",
    ]);
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    const key = /\n\n {2}(\S+)\n\nCopy it now: it will not be shown again\.\n$/.exec(created.stdout)?.[1];
    expect(key).toBeDefined();

    const json = await run(["keys", "create", "weather", "--name", "robot", "--json"]);
    const robot = createdApiKey.parse(JSON.parse(json.stdout));
    expect(robot.key.startsWith(robot.prefix)).toBe(true);

    const listed = await run(["keys", "ls", "weather", "--json"]);
    expect(listed.status).toBe(0);
    const keys = apiKeyList.parse(JSON.parse(listed.stdout)).items;
    expect(keys.map((k) => k.name).sort()).toEqual(["ci", "robot"]);
    const ci = keys.find((k) => k.name === "ci");
    expect(key?.startsWith(ci?.prefix ?? "-")).toBe(true);
    expect(ci?.rateLimitPerMinute).toBe(60);
    expect(listed.stdout).not.toContain(key);
    expect(listed.stdout).not.toContain(robot.key);
    const human = await run(["keys", "ls", "weather"]);
    expect(human.stdout).toMatch(/^ID +NAME +PREFIX +CREATED +EXPIRES +LAST USED +RATE\/MIN +REVOKED\n/);

    const revoked = await run(["keys", "revoke", "weather", ci?.id ?? ""]);
    expect(revoked).toMatchObject({ status: 0, stdout: `Revoked key ${ci?.id} of weather.\n` });
    const after = apiKeyList.parse(JSON.parse((await run(["keys", "ls", "weather", "--json"])).stdout)).items;
    const revokedKey = after.find((k) => k.id === ci?.id);
    // Revoked keys are either listed as revoked or no longer listed.
    if (revokedKey) expect(revokedKey.revokedAt).toEqual(expect.any(String));
  });
});

describe("isola audit", () => {
  it("lists the org's changes newest first, filters by action, pages with --limit", async () => {
    const all = await run(["audit", "--json"]);
    expect(all.stderr).toBe("");
    expect(all.status).toBe(0);
    const entries = auditPage.parse(JSON.parse(all.stdout)).items;
    const actions = entries.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["server.create", "version.create", "server.deploy"]));
    expect(actions.some((a) => a.startsWith("secret"))).toBe(true);
    expect(entries.find((e) => e.action === "server.create")?.actor.label).toContain("owner@example.com");
    const times = entries.map((e) => e.at);
    expect([...times].sort().reverse()).toEqual(times);

    const deploys = auditPage.parse(JSON.parse((await run(["audit", "--action", "server.deploy", "--json"])).stdout));
    expect(deploys.items.length).toBeGreaterThan(0);
    expect(deploys.items.every((e) => e.action === "server.deploy")).toBe(true);

    const first = auditPage.parse(JSON.parse((await run(["audit", "--limit", "1", "--json"])).stdout));
    expect(first.items).toHaveLength(1);
    expect(first.next).toEqual(expect.any(String));

    const human = await run(["audit", "--limit", "2"]);
    expect(human.stdout).toMatch(/^AT +ACTOR +ACTION +TARGET +FROM +DETAIL\n/);
    expect(human.stdout).toMatch(/\nMore: isola audit --org \S+ --limit 2 --cursor \S+\n$/);
  });

  it("refuses an org the token does not reach", async () => {
    const result = await run(["audit", "--org", "someone-else"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^isola: .+\n$/);
  });
});

describe("nothing printed a secret's value", () => {
  it("in any output of this file's commands", () => {
    for (const output of outputs) expect(output).not.toContain(SECRET_VALUE);
  });
});
