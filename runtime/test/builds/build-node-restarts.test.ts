// A build outlives the node that runs it. A node that stops puts its build back and another
// picks it up; a node that dies without a word (its statements stop reaching the database, its
// lease runs out) is replaced by another that resumes the build from its step; and a build
// interrupted more than MAX_RESUMES times fails with a reason instead of running forever.
import {
  appendEvent,
  type BuildEffects,
  BuildRunner,
  createAnthropicModel,
  MAX_RESUMES,
  readGuestApi,
} from "@isola/control/builds";
import type { ServerSource } from "@isola/schema";
import {
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  sql,
  type UnknownRow,
} from "kysely";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Api } from "../support/api-harness.ts";
import { answer, type FakeAnthropic, recorded, toolInputOf } from "../support/fake-anthropic.ts";
import { openSession, send } from "../support/mcp.ts";
import { eventually } from "../support/wait.ts";
import {
  type BuildBody,
  buildClient,
  MODEL_KEY,
  type Node,
  startBuildApi,
  startModel,
  startNode,
  stepsOf,
  typesOf,
} from "./build-harness.ts";

const BRIEF = "A server with weather forecasts for any city";
/** Longer than any test: the model answer a stopped or dead node was waiting for never comes. */
const NEVER = 120_000;

/** Once `kill()`ed, nothing its holder sends reaches the database: the node is gone. */
class Mortality implements KyselyPlugin {
  dead = false;
  kill() {
    this.dead = true;
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (this.dead) throw new Error("this node is dead");
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

describe("a build whose node goes away", () => {
  let fake: FakeAnthropic;
  let api: Api;
  let builds: ReturnType<typeof buildClient>;
  const nodes: Node[] = [];
  const runners: BuildRunner[] = [];

  // The first node holds the database and serves MCP; the builds run on the nodes each test starts.
  beforeAll(async () => {
    fake = await startModel();
    api = await startBuildApi({ ISOLA_ROLES: "runtime,control" });
    builds = buildClient(api.admin);
  }, 60_000);
  afterEach(async () => {
    for (const runner of runners.splice(0)) await runner.stop();
    for (const node of nodes.splice(0)) await node.close();
    expect(fake.pending()).toBe(0);
  });
  afterAll(async () => {
    await api?.close();
    await fake?.close();
  });

  // Worker nodes: the role alone (no API, no MCP), as a fleet's build process group runs it.
  const worker = async () => {
    const node = await startNode(api, api.stores.bus, ["worker"]);
    nodes.push(node);
    return node;
  };

  /**
   * A runner on a node that can die: the product's runner with a short lease and the real model,
   * whose effects past the code step are never reached (it dies while the model writes).
   */
  function mortalRunner(name: string, leaseMs = 600) {
    const mortality = new Mortality();
    const logs: string[] = [];
    const effects: BuildEffects = {
      modelFor: async () =>
        createAnthropicModel({ apiKey: MODEL_KEY, models: api.config.buildModels, guestApi: readGuestApi() }),
      current: async () => undefined,
      compile: async () => expect.unreachable(`${name} died before checking`),
      storeVersion: async () => expect.unreachable(`${name} died before versioning`),
      deploy: async () => expect.unreachable(`${name} died before deploying`),
    };
    const runner = new BuildRunner({
      db: api.stores.db.withPlugin(mortality),
      bus: api.stores.bus,
      log: pino({ level: "error" }, { write: (line: string) => void logs.push(line) }),
      effects,
      node: name,
      leaseMs,
      pollMs: 100,
    });
    runners.push(runner);
    return { runner, logs, kill: () => mortality.kill() };
  }

  /** A build planned and confirmed on the node `start` starts, whose code request that node now waits on. */
  async function codingOn(slug: string, start: () => Promise<unknown>, answerAfterMs = NEVER) {
    fake.queue(answer.message("plan-weather"));
    const created = await builds.create(BRIEF, slug);
    await start();
    const waiting = await builds.until(created.id, "waiting");
    const asked = fake.requests.length;
    fake.queue(answer.slow(answerAfterMs, answer.message("code-weather")));
    await builds.confirm(waiting, { units: "metric" });
    await eventually(() => (fake.requests.length > asked ? true : undefined));
    return waiting;
  }

  const row = (id: string) =>
    api.stores.db
      .selectFrom("builds")
      .select(["status", "claimed_by", "resumes", "round"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();

  async function expectLive(slug: string) {
    const url = `${api.url}/${slug}/mcp`;
    const session = await openSession(url);
    const listed = await send(url, {
      body: { jsonrpc: "2.0", id: 2, method: "tools/list", params: {} },
      headers: session.headers,
    });
    expect(listed.json.result.tools.map((tool: { name: string }) => tool.name)).toEqual(["find_city", "get_forecast"]);
  }

  it("is put back by a node that stops, and finished by another", async () => {
    let first: Node | undefined;
    const build = await codingOn("restart-graceful", async () => {
      first = await worker();
    });
    expect(await row(build.id)).toMatchObject({ status: "coding", round: 1 });
    // The second node starts while the first still holds the build: it waits.
    const second = await worker();
    fake.queue(answer.message("code-weather"));
    await (first as Node).close();
    const done = await builds.until(build.id, "succeeded");
    expect(done).toMatchObject({ round: 1, version: 1 });
    // Put back, not taken over: a stop is not an interruption counted against the build.
    expect(await row(build.id)).toMatchObject({ resumes: 0, claimed_by: null });
    const events = await builds.events(build.id);
    expect(stepsOf(events)).toEqual(["plan", "code", "code", "check", "smoke", "version", "deploy"]);
    expect(typesOf(events)).not.toContain("failed");
    expect(events.find((e) => e.type === "deployed")?.data.url).toBe(`${second.url}/restart-graceful/mcp`);
    await expectLive("restart-graceful");
  });

  it("is resumed by another node when its node dies and its lease runs out", async () => {
    const doomed = mortalRunner("doomed-node");
    // The dead node's model answers after all: what it then tries to write goes nowhere.
    const build = await codingOn("restart-crash", () => doomed.runner.start(), 1500);
    expect(await row(build.id)).toMatchObject({ status: "coding", claimed_by: "doomed-node" });
    doomed.kill();
    fake.queue(answer.message("code-weather"));
    await worker();
    const done = await builds.until(build.id, "succeeded");
    expect(done).toMatchObject({ round: 1, version: 1 });
    expect(await row(build.id)).toMatchObject({ resumes: 1 });
    const events = await builds.events(build.id);
    expect(events.filter((e) => e.type === "resumed").map((e) => e.data)).toEqual([{ status: "coding", resumes: 1 }]);
    // The interrupted round starts again on the new node.
    expect(stepsOf(events)).toEqual(["plan", "code", "code", "check", "smoke", "version", "deploy"]);
    expect(typesOf(events).slice(-1)).toEqual(["succeeded"]);
    expect(typesOf(events).filter((type) => type === "code")).toHaveLength(1);
    await expectLive("restart-crash");
    // The dead node got its answer, could not record it, and said so, without crashing anything.
    await eventually(() =>
      doomed.logs.some((line) => line.includes("could not run or fail a build")) ? true : undefined,
    );
    expect(await row(build.id)).toMatchObject({ status: "succeeded", resumes: 1 });
  });

  /** A build whose node died writing its first round's code, its row then set as `state` says. */
  async function diedIn(slug: string, state: { status: "coding" | "checking"; round: number; files: ServerSource }) {
    const doomed = mortalRunner(`doomed-${slug}`);
    const build = await codingOn(slug, () => doomed.runner.start());
    doomed.kill();
    await api.stores.db
      .updateTable("builds")
      .set({ ...state, files: JSON.stringify(state.files) })
      .where("id", "=", build.id)
      .execute();
    return build;
  }

  it("taken over while writing round 2, repairs round 1's code with its errors instead of starting over", async () => {
    const broken = { "index.ts": "export const units: number = 'metric';" };
    const build = await diedIn("restart-round-2", { status: "coding", round: 2, files: broken });
    const error = {
      step: "typecheck",
      file: "index.ts",
      line: 1,
      column: 14,
      message: "Type 'string' is not assignable to type 'number'.",
    };
    await appendEvent(api.stores.db, api.stores.bus, build.id, "check.failed", { round: 1, errors: [error], ms: 5 });
    const asked = fake.requests.length;
    fake.queue(answer.message("code-weather"));
    await worker();
    const done = await builds.until(build.id, "succeeded");
    expect(done).toMatchObject({ round: 2, version: 1 });
    // The one request the new node made is the repair of round 1's code.
    expect(fake.requests.length - asked).toBe(1);
    const asks = JSON.stringify(fake.requests[asked]?.body.messages);
    expect(asks).toContain("export const units: number = 'metric';");
    expect(asks).toContain("is not assignable to type 'number'");
    const events = await builds.events(build.id);
    expect(stepsOf(events)).toEqual(["plan", "code", "repair", "check", "smoke", "version", "deploy"]);
    await expectLive("restart-round-2");
  });

  it("taken over while checking, checks the code it has again without asking the model", async () => {
    const code = toolInputOf(recorded("code-weather")).files as ServerSource;
    const build = await diedIn("restart-checking", { status: "checking", round: 1, files: code });
    const asked = fake.requests.length;
    await worker();
    const done = await builds.until(build.id, "succeeded");
    expect(done).toMatchObject({ round: 1, version: 1 });
    expect(fake.requests.length).toBe(asked);
    const events = await builds.events(build.id);
    expect(events.filter((e) => e.type === "resumed").map((e) => e.data)).toEqual([{ status: "checking", resumes: 1 }]);
    expect(stepsOf(events)).toEqual(["plan", "code", "check", "smoke", "version", "deploy"]);
    await expectLive("restart-checking");
  });

  it(`fails with a reason when interrupted more than ${MAX_RESUMES} times`, async () => {
    let current = mortalRunner("doomed-0");
    const build = await codingOn("restart-doomed", () => current.runner.start());
    // Each next node takes the build over once the last one's lease ran out, and dies in turn.
    for (let death = 1; death <= MAX_RESUMES; death++) {
      const asked = fake.requests.length;
      fake.queue(answer.slow(NEVER, answer.message("code-weather")));
      current.kill();
      current = mortalRunner(`doomed-${death}`);
      await current.runner.start();
      await eventually(() => (fake.requests.length > asked ? true : undefined), 10_000);
      expect(await row(build.id)).toMatchObject({ claimed_by: `doomed-${death}`, resumes: death });
    }
    current.kill();
    await worker();
    const failed: BuildBody = await builds.until(build.id, "failed");
    expect(failed.error?.message).toMatch(new RegExp(`interrupted ${MAX_RESUMES + 1} times.*start it again`));
    expect(failed.version).toBeNull();
    const events = await builds.events(build.id);
    expect(events.filter((e) => e.type === "resumed").map((e) => e.data.resumes)).toEqual([1, 2]);
    expect(events.at(-1)).toMatchObject({ type: "failed", data: { message: failed.error?.message } });
    // Nothing was left running: no server came of it.
    const server = await sql<{
      n: number;
    }>`select count(*)::int as n from server_versions v join servers s on s.id = v.server_id where s.slug = 'restart-doomed'`.execute(
      api.stores.db,
    );
    expect(server.rows[0]?.n).toBe(0);
  });
});
