import { afterEach, describe, expect, it } from "vitest";
import { type Harness, idOnShard, serverSource, startHarness } from "./support/sandbox-harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

const TOOLS = serverSource({
  echo: "return String(input.text);",
  slow: "await new Promise((r) => setTimeout(r, Number(input.ms))); return 'done';",
  chatty: "ctx.log.info('one', { n: 1 }); ctx.progress(1, 2, 'half'); ctx.log.warning('two'); return 'ok';",
  ask: "const answer = await ctx.sample({ messages: [{ role: 'user', content: { type: 'text', text: 'hi' } }], maxTokens: 5 }); return JSON.stringify(answer);",
  waitForCancel:
    "ctx.log.info('waiting'); await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve)); ctx.log.info('saw abort'); return 'aborted';",
});

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

describe("calls through a shard", () => {
  it("returns results and carries logs, progress and client requests across processes", async () => {
    harness = await startHarness();
    const server = await harness.deploy("srv", TOOLS);
    expect(await harness.call(server, "echo", { text: "hi" })).toEqual({ content: [{ type: "text", text: "hi" }] });

    const logs: unknown[] = [];
    const progress: unknown[] = [];
    await harness.call(
      server,
      "chatty",
      {},
      {
        onLog: (level, message, data) => logs.push([level, message, data]),
        onProgress: (done, total, message) => progress.push([done, total, message]),
      },
    );
    expect(logs).toEqual([
      ["info", "one", { n: 1 }],
      ["warning", "two", undefined],
    ]);
    expect(progress).toEqual([[1, 2, "half"]]);

    const asked: unknown[] = [];
    const answer = await harness.call(
      server,
      "ask",
      {},
      {
        onClientRequest: async (kind, request) => {
          asked.push(kind, request);
          return { role: "assistant", content: { type: "text", text: "hello" }, model: "m" };
        },
      },
    );
    expect(asked[0]).toBe("sample");
    expect(answer).toEqual({
      content: [
        {
          type: "text",
          text: JSON.stringify({ role: "assistant", content: { type: "text", text: "hello" }, model: "m" }),
        },
      ],
    });
  });

  it("cancels a call: the caller gets SANDBOX_CANCELLED and the tool sees ctx.signal abort", async () => {
    harness = await startHarness();
    const server = await harness.deploy("srv", TOOLS);
    const controller = new AbortController();
    let started: () => void = () => {};
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const call = harness.call(
      server,
      "waitForCancel",
      {},
      { signal: controller.signal, onLog: (_l, m) => m === "waiting" && started() },
    );
    // Cancel once the tool runs: a cancel that arrives while the isolate loads stops the call before the tool starts.
    await running;
    controller.abort("user pressed stop");
    await expect(call).rejects.toMatchObject({
      code: "SANDBOX_CANCELLED",
      message: expect.stringContaining("user pressed stop"),
    });
    // The tool ran on after its call ended: its line goes to the server's log.
    await until(() => harness.serverLogs.find(([id, , message]) => id === server.id && message === "saw abort"));
  });

  it("fails a call whose code cannot be found, with the reason", async () => {
    harness = await startHarness();
    await expect(harness.call({ id: "ghost", hash: "0".repeat(64) }, "echo")).rejects.toMatchObject({
      code: "SANDBOX_LOAD_FAILED",
      message: expect.stringContaining(`no artifact ${"0".repeat(64)}`),
    });
  });
});

describe("a shard that dies", () => {
  it("costs only its in-flight calls, which fail clearly, and comes back", async () => {
    harness = await startHarness();
    const victim = await harness.deploy(idOnShard("victim", 0, 2), TOOLS);
    const other = await harness.deploy(idOnShard("other", 1, 2), TOOLS);
    const pid = harness.supervisor.shardOf(victim.id) as number;
    expect(harness.supervisor.shardOf(other.id)).not.toBe(pid);

    const inFlight = harness.call(victim, "slow", { ms: 5000 });
    const bystander = harness.call(other, "slow", { ms: 300 });
    await harness.inFlight(victim.id);
    process.kill(pid, "SIGKILL");
    await expect(inFlight).rejects.toMatchObject({
      code: "SANDBOX_CRASHED",
      message: expect.stringMatching(/stopped/),
    });
    expect(await bystander).toEqual({ content: [{ type: "text", text: "done" }] });

    expect(await harness.call(victim, "echo", { text: "back" })).toEqual({ content: [{ type: "text", text: "back" }] });
    expect(harness.supervisor.shardOf(victim.id)).not.toBe(pid);
    expect(harness.events).toContainEqual(
      expect.objectContaining({ type: "shard-exit", pid, signal: "SIGKILL", lostCalls: 1 }),
    );
  });

  it("is killed and replaced when it stops answering heartbeats", async () => {
    // Long enough that a replacement loading the bundle on a loaded machine is not taken for hung too.
    harness = await startHarness({ hangTimeoutMs: 2000, heartbeatIntervalMs: 100 });
    const server = await harness.deploy("hangs", TOOLS);
    const pid = harness.supervisor.shardOf(server.id) as number;
    const inFlight = harness.call(server, "slow", { ms: 5000 });
    await harness.inFlight(server.id);
    process.kill(pid, "SIGSTOP");
    await expect(inFlight).rejects.toMatchObject({ code: "SANDBOX_CRASHED" });
    expect(harness.events).toContainEqual(
      expect.objectContaining({ type: "shard-exit", pid, reason: "no heartbeat for 2000 ms" }),
    );
    expect(await harness.call(server, "echo", { text: "alive" })).toEqual({
      content: [{ type: "text", text: "alive" }],
    });
  });

  it("quarantines a server that keeps crashing it, until a new version clears it", async () => {
    harness = await startHarness({ quarantine: { strikes: 3 } });
    const server = await harness.deploy("crasher", TOOLS);
    for (let i = 0; i < 3; i++) {
      const call = harness.call(server, "slow", { ms: 5000 });
      await harness.inFlight(server.id);
      process.kill(harness.supervisor.shardOf(server.id) as number, "SIGKILL");
      await expect(call).rejects.toMatchObject({ code: "SANDBOX_CRASHED" });
    }
    expect(harness.events).toContainEqual({ type: "quarantine", serverId: server.id });
    // Refused before it reaches a shard: the shard's pid and the events stay as they were.
    const pidBefore = harness.supervisor.shardOf(server.id);
    const eventsBefore = harness.events.length;
    await expect(harness.call(server, "echo", { text: "x" })).rejects.toMatchObject({ code: "SANDBOX_QUARANTINED" });
    expect(harness.supervisor.shardOf(server.id)).toBe(pidBefore);
    expect(harness.events.slice(eventsBefore).filter((event) => event.type !== "shard-start")).toEqual([]);

    harness.supervisor.versionChanged(server.id);
    expect(await harness.call(server, "echo", { text: "cleared" })).toEqual({
      content: [{ type: "text", text: "cleared" }],
    });
  });
});

describe("a server that keeps going over its memory limit", () => {
  it("is quarantined: each overrun is a strike, as a crash it caused alone would be", async () => {
    harness = await startHarness({ quarantine: { strikes: 3 } });
    const hog = await harness.deploy(
      "hog",
      serverSource({ hog: "const kept = []; for (;;) kept.push(new Array(100000).fill(1.5));" }),
    );
    for (let i = 0; i < 3; i++) {
      // The heap limit stops it, or (isolated-vm's limit is a guideline) its shard dies with it.
      await expect(harness.call(hog, "hog", {}, { limits: { memoryMb: 32 } })).rejects.toMatchObject({
        code: expect.stringMatching(/^SANDBOX_(MEMORY_LIMIT|CRASHED)$/),
      });
    }
    expect(harness.events).toContainEqual({ type: "quarantine", serverId: hog.id });
    await expect(harness.call(hog, "hog")).rejects.toMatchObject({ code: "SANDBOX_QUARANTINED" });
  });
});

describe("recycling", () => {
  it("replaces a grown shard without losing the calls it is running", async () => {
    // Every shard is over a 1-byte threshold: each is recycled once it is 300 ms old.
    harness = await startHarness({ recycleShardRssBytes: 1, minRecycleAgeMs: 300, heartbeatIntervalMs: 100 });
    const server = await harness.deploy("grows", TOOLS);
    const pid = harness.supervisor.shardOf(server.id);
    const running = harness.call(server, "slow", { ms: 600 });
    await until(() => harness.events.find((e) => e.type === "shard-recycle" && e.pid === pid));
    expect(await running).toEqual({ content: [{ type: "text", text: "done" }] });
    await until(() => harness.events.find((e) => e.type === "shard-exit" && e.pid === pid));
    expect(harness.events).toContainEqual(
      expect.objectContaining({ type: "shard-exit", pid, reason: "recycled", lostCalls: 0 }),
    );
  });
});
