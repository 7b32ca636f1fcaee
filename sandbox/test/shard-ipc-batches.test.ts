import { serialize } from "node:v8";
import { afterEach, describe, expect, it } from "vitest";
import { approximateBytes, MessageBatcher, unbatch, type Wire } from "../src/host/message-batch.ts";
import { type Harness, idOnShard, serverSource, startHarness } from "./support/sandbox-harness.ts";

type Message = { t: string; n?: number; payload?: unknown };

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A batcher over Node's own serializer (what the IPC channel uses), recording each write. */
function recording(limits = { maxMessages: 100, maxBytes: 10_000 }) {
  const writes: Wire<Message>[] = [];
  const undeliverable: Message[] = [];
  const batcher = new MessageBatcher<Message>(
    (wire) => {
      serialize(wire);
      writes.push(wire);
    },
    (message) => undeliverable.push(message),
    limits,
  );
  return { batcher, writes, undeliverable };
}

describe("MessageBatcher", () => {
  it("writes the messages of one event-loop turn as one array, in order, once the turn ends", async () => {
    const { batcher, writes } = recording();
    for (let n = 1; n <= 3; n++) batcher.send({ t: "call", n });
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual([
      [
        { t: "call", n: 1 },
        { t: "call", n: 2 },
        { t: "call", n: 3 },
      ],
    ]);
  });

  it("writes a message alone as itself, and the next turn's messages as another write", async () => {
    const { batcher, writes } = recording();
    batcher.send({ t: "ping", n: 1 });
    await nextTurn();
    batcher.send({ t: "ping", n: 2 });
    await nextTurn();
    expect(writes).toEqual([
      { t: "ping", n: 1 },
      { t: "ping", n: 2 },
    ]);
  });

  it("writes at once past the message limit, keeping the order", async () => {
    const { batcher, writes } = recording({ maxMessages: 2, maxBytes: 10_000 });
    for (let n = 1; n <= 5; n++) batcher.send({ t: "call", n });
    expect(writes).toEqual([
      [
        { t: "call", n: 1 },
        { t: "call", n: 2 },
      ],
      [
        { t: "call", n: 3 },
        { t: "call", n: 4 },
      ],
    ]);
    expect(batcher.queued).toBe(1);
    await nextTurn();
    expect(writes.at(-1)).toEqual({ t: "call", n: 5 });
  });

  it("writes at once past the byte limit: a large message does not wait for the turn to end", () => {
    const { batcher, writes } = recording({ maxMessages: 100, maxBytes: 1000 });
    batcher.send({ t: "log", n: 1 });
    batcher.send({ t: "artifact", payload: "x".repeat(2000) });
    expect(writes).toHaveLength(1);
    expect(batcher.queued).toBe(0);
  });

  it("writes the rest of a batch that cannot be serialized one by one; only the bad message is undeliverable", async () => {
    const { batcher, writes, undeliverable } = recording();
    const bad = { t: "call", n: 2, payload: () => "a function cannot cross" };
    batcher.send({ t: "call", n: 1 });
    batcher.send(bad);
    batcher.send({ t: "call", n: 3 });
    await nextTurn();
    expect(writes).toEqual([
      { t: "call", n: 1 },
      { t: "call", n: 3 },
    ]);
    expect(undeliverable).toEqual([bad]);
  });

  it("drops what is queued on clear (the other side is gone)", async () => {
    const { batcher, writes } = recording();
    batcher.send({ t: "call", n: 1 });
    batcher.clear();
    await nextTurn();
    expect(writes).toEqual([]);
    expect(batcher.queued).toBe(0);
  });
});

describe("unbatch", () => {
  it.each([
    ["one message", { t: "a" }, [{ t: "a" }]],
    ["a batch", [{ t: "a" }, { t: "b" }], [{ t: "a" }, { t: "b" }]],
    ["an empty batch", [], []],
  ])("hands out %s in order", (_name, wire, expected) => {
    const seen: unknown[] = [];
    unbatch(wire as Wire<{ t: string }>, (message) => seen.push(message));
    expect(seen).toEqual(expected);
  });
});

describe("approximateBytes", () => {
  it.each([
    ["a number", 42, 8],
    ["a string", "abcd", 6],
    ["an object", { ab: "cd" }, 2 + 3 + 4],
    ["an array", ["a", 1], 2 + 3 + 8],
    ["nested", { a: { b: [null] } }, 2 + 2 + 2 + 2 + 2 + 8],
  ])("weighs %s", (_name, value, expected) => {
    expect(approximateBytes(value)).toBe(expected);
  });

  it("stops counting past the cap", () => {
    const big = Array.from({ length: 100_000 }, () => "0123456789");
    const weighed = approximateBytes(big, 1000);
    expect(weighed).toBeGreaterThanOrEqual(1000);
    expect(weighed).toBeLessThan(1100);
  });
});

let harness: Harness;
afterEach(async () => {
  await harness?.close();
});

describe("calls through batched IPC", () => {
  it("answers many concurrent calls each with its own result, log line and progress, in order", async () => {
    harness = await startHarness();
    const server = await harness.deploy(
      idOnShard("many", 0, 2),
      serverSource({
        numbered:
          "ctx.log.info('line ' + input.n); await new Promise((r) => setTimeout(r, 1)); ctx.progress(Number(input.n), 1000); return String(input.n);",
      }),
    );
    // 150 calls: under the 200 log lines a second an isolate may write, and the shard's 256 calls in flight.
    const calls = Array.from({ length: 150 }, (_, n) => n);
    const heard = new Map<number, unknown[]>(calls.map((n) => [n, []]));
    const answers = await Promise.all(
      calls.map((n) =>
        harness.call(
          server,
          "numbered",
          { n },
          {
            onLog: (_level, message) => heard.get(n)?.push(message),
            onProgress: (done) => heard.get(n)?.push(done),
          },
        ),
      ),
    );
    expect(answers).toEqual(calls.map((n) => ({ content: [{ type: "text", text: String(n) }] })));
    for (const [n, events] of heard) expect(events).toEqual([`line ${n}`, n]);
  });

  it("refuses only the call that cannot be sent, not those sent in the same turn", async () => {
    harness = await startHarness();
    const server = await harness.deploy("srv", serverSource({ echo: "return String(input.text);" }));
    await harness.call(server, "echo", { text: "warm" });
    const [before, bad, after] = await Promise.allSettled([
      harness.call(server, "echo", { text: "before" }),
      harness.call(server, "echo", { text: "bad", f: () => 1 }),
      harness.call(server, "echo", { text: "after" }),
    ]);
    expect(before).toEqual({ status: "fulfilled", value: { content: [{ type: "text", text: "before" }] } });
    expect(bad).toMatchObject({
      status: "rejected",
      reason: { code: "SANDBOX_INTERNAL", message: expect.stringContaining("could not be sent") },
    });
    expect(after).toEqual({ status: "fulfilled", value: { content: [{ type: "text", text: "after" }] } });
  });
});
