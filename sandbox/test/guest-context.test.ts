import type { Artifact } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallOptions, TenantIsolate } from "../src/host/tenant-isolate.ts";
import { callOptions, fixture, loadArtifact, loadServer } from "./support/load-server.ts";

// What a tool's ctx carries from the host's call options, and back.

let artifact: Artifact;
let isolate: TenantIsolate;
beforeAll(async () => {
  ({ artifact, isolate } = await loadServer(await fixture("guest-context.ts")));
});
afterAll(() => isolate?.dispose());

type Line = [level: string, message: string, data?: unknown];
const structured = async (promise: Promise<unknown>) =>
  ((await promise) as { structuredContent: Record<string, unknown> }).structuredContent;

describe("ctx.log and ctx.progress", () => {
  it("deliver each line to onLog with its level, message and data", async () => {
    const lines: Line[] = [];
    await isolate.callTool("log", {}, callOptions({ onLog: (...line) => lines.push(line) }));
    expect(lines).toEqual([
      ["debug", "a debug line", { n: 1 }],
      ["info", "an info line", undefined],
      ["warning", "a warning line", [1, "two"]],
      ["error", "an error line", { nested: { ok: true } }],
    ]);
  });

  it("never throw into the tool, even for data JSON cannot carry", async () => {
    const lines: Line[] = [];
    const result = await isolate.callTool("logUnwritable", {}, callOptions({ onLog: (...line) => lines.push(line) }));
    expect(result).toEqual({ content: [{ type: "text", text: "still running" }] });
    expect(lines).toEqual([
      ["info", "a cycle", "[data that cannot be written as JSON]"],
      ["info", "a bigint", "[data that cannot be written as JSON]"],
    ]);
  });

  it("deliver progress to onProgress", async () => {
    const reports: unknown[][] = [];
    await isolate.callTool("progress", {}, callOptions({ onProgress: (...report) => reports.push(report) }));
    expect(reports).toEqual([
      [1, 3, "first"],
      [2, undefined, undefined],
      [3, 3, undefined],
    ]);
  });
});

describe("ctx.env", () => {
  it("holds exactly the declared secrets the host passed, never an undeclared one", async () => {
    const env = { API_KEY: "k1", OTHER_KEY: "k2", UNDECLARED: "not for this server" };
    const { entries } = await structured(isolate.callTool("env", {}, callOptions({ env })));
    expect(entries).toEqual([
      ["API_KEY", "k1"],
      ["OTHER_KEY", "k2"],
    ]);
  });

  it("leaves out a declared secret the host did not pass", async () => {
    const { entries } = await structured(isolate.callTool("env", {}, callOptions({ env: { API_KEY: "k1" } })));
    expect(entries).toEqual([["API_KEY", "k1"]]);
  });

  it("is frozen: no change or addition takes effect", async () => {
    const { change, add } = await structured(isolate.callTool("env", {}, callOptions({ env: { API_KEY: "k1" } })));
    for (const [attempt, after] of [
      [change, "k1"],
      [add, null],
    ] as const) {
      // A plain assignment throws in strict code and does nothing in sloppy code.
      expect(["TypeError", "no error"]).toContain((attempt as { assignment: string }).assignment);
      expect(attempt).toMatchObject({ reflectSet: false, defineProperty: "TypeError", frozen: true, after });
    }
  });
});

describe("ctx.user", () => {
  it("is the caller the host passed, frozen with its scopes", async () => {
    const user = { subject: "user-1", clientId: "client-1", scopes: ["read", "write"] };
    const seen = await structured(isolate.callTool("user", {}, callOptions({ user })));
    expect(seen.user).toEqual(user);
    expect(seen.change).toMatchObject({ reflectSet: false, frozen: true, after: "user-1" });
    expect(seen.scopes).toMatchObject({ reflectSet: false, frozen: true, after: "read" });
  });

  it("is null for a call without a caller", async () => {
    expect(await structured(isolate.callTool("user", {}, callOptions({ user: null })))).toEqual({
      user: null,
      change: null,
      scopes: null,
    });
  });
});

describe("ctx.signal", () => {
  it("aborts when the host's signal aborts: the call is cancelled and the tool's listeners run", async () => {
    const controller = new AbortController();
    const onLog = (_level: string, message: string) => {
      if (message === "waiting") controller.abort("the client cancelled");
    };
    await expect(
      isolate.callTool("waitForAbort", {}, callOptions({ signal: controller.signal, onLog })),
    ).rejects.toMatchObject({ code: "SANDBOX_CANCELLED" });
    await expect
      .poll(async () => (await structured(isolate.callTool("lastAbort", {}, callOptions()))).lastAbort)
      .toEqual({ aborted: true, seen: ["listener"], reason: "AbortError" });
  });
});

describe("ctx.sample and ctx.elicit", () => {
  const answers = {
    sample: { role: "assistant", content: { type: "text", text: "hi" }, model: "test-model" },
    elicit: { action: "accept", content: { city: "Oslo" } },
  };
  const requests = {
    sample: { messages: [{ role: "user", content: { type: "text", text: "Say hi" } }], maxTokens: 20 },
    elicit: {
      message: "Which city?",
      requestedSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  };

  it.each(["sample", "elicit"] as const)("%s reaches onClientRequest and resolves with its answer", async (kind) => {
    const seen: unknown[] = [];
    const onClientRequest: CallOptions["onClientRequest"] = async (...request) => {
      seen.push(request);
      return answers[kind];
    };
    expect(await structured(isolate.callTool(kind, {}, callOptions({ onClientRequest })))).toEqual({
      answer: answers[kind],
    });
    expect(seen).toEqual([[kind, requests[kind]]]);
  });

  it.each(["sample", "elicit"] as const)("%s rejects, catchably, when onClientRequest rejects", async (kind) => {
    const onClientRequest = async () => {
      throw new Error("the user declined");
    };
    expect(await structured(isolate.callTool(kind, {}, callOptions({ onClientRequest })))).toEqual({
      caught: "the user declined",
    });
  });

  it.each(["sample", "elicit"] as const)("%s rejects, catchably, when the client cannot answer", async (kind) => {
    expect(await structured(isolate.callTool(kind, {}, callOptions()))).toEqual({
      caught: `the client does not support ${kind}`,
    });
  });
});

describe("console", () => {
  it("writes to the server's log with levels, not to the call's", async () => {
    const serverLines: Line[] = [];
    const callLines: Line[] = [];
    const server = await loadArtifact(artifact, {}, { onServerLog: (...line) => serverLines.push(line) });
    try {
      await server.callTool("console", {}, callOptions({ onLog: (...line) => callLines.push(line) }));
    } finally {
      server.dispose();
    }
    expect(serverLines.map(([level, message]) => [level, message])).toEqual([
      ["info", 'console.log {"a":1} 2'],
      ["info", "console.info"],
      ["warning", "console.warn"],
      ["error", "TypeError: console.error"],
      ["debug", "console.debug"],
    ]);
    expect(callLines).toEqual([]);
  });
});

describe("concurrent calls", () => {
  it("each keep their own env, user and log", async () => {
    const calls = Array.from({ length: 10 }, (_, i) => {
      const lines: string[] = [];
      const options = callOptions({
        env: { API_KEY: `key-${i}` },
        user: { subject: `user-${i}`, clientId: null, scopes: [] },
        onLog: (_level, message) => lines.push(message),
      });
      // Later calls finish first, so that their awaits interleave.
      const result = structured(isolate.callTool("whoAmI", { delayMs: (10 - i) * 4 }, options));
      return { i, lines, result };
    });
    for (const { i, lines, result } of calls) {
      expect(await result).toEqual({ subject: `user-${i}`, key: `key-${i}` });
      expect(lines).toEqual([`for user-${i}`]);
    }
  });
});
