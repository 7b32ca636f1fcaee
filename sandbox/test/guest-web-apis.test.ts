import { fileURLToPath } from "node:url";
import type { Artifact } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TenantIsolate } from "../src/host/tenant-isolate.ts";
import { callOptions, fixture, loadArtifact, loadServer } from "./support/load-server.ts";

// The web APIs the guest runtime installs in a bare V8, exercised by tool code inside a real
// isolate. The shared cases (fixtures/guest-web-cases.ts) also run here in Node, whose
// implementations are the reference: the isolate must answer exactly as Node does.

type Cases = Record<string, () => unknown>;
// Imported by path at run time: the fixture belongs to the fixtures' own type-check project.
const CASES_FILE = fileURLToPath(new URL("./fixtures/guest-web-cases.ts", import.meta.url));
const { webCases, heavyWebCases } = (await import(CASES_FILE)) as { webCases: Cases; heavyWebCases: Cases };
const nodeCases = { ...webCases, ...heavyWebCases };

let artifact: Artifact;
let isolate: TenantIsolate;

beforeAll(async () => {
  const files = {
    "index.ts": await fixture("guest-web.ts"),
    "guest-web-cases.ts": await fixture("guest-web-cases.ts"),
  };
  ({ artifact, isolate } = await loadServer(files));
});
afterAll(() => isolate?.dispose());

/** The structured result of a tool; fails the test with the tool's message when it is an error. */
async function call(
  name: string,
  args: Record<string, unknown> = {},
  target = isolate,
): Promise<Record<string, unknown>> {
  const result = (await target.callTool(name, args, callOptions())) as {
    isError?: boolean;
    content: { text: string }[];
    structuredContent?: Record<string, unknown>;
  };
  if (result.isError) throw new Error(`${name} failed in the isolate: ${result.content[0]?.text}`);
  return result.structuredContent ?? {};
}

async function inIsolate(name: string, target = isolate): Promise<unknown> {
  return JSON.parse(String((await call("web", { name }, target)).result));
}
async function inNode(name: string): Promise<unknown> {
  const run = nodeCases[name] as () => unknown;
  return JSON.parse(JSON.stringify(await run()) ?? "null");
}

describe("the shared cases", () => {
  it.each(Object.keys(webCases))("%s: the isolate answers as Node does", async (name) => {
    expect(await inIsolate(name)).toEqual(await inNode(name));
  });

  // In an isolate of their own, so that running out of memory here does not reset the others.
  it.each(Object.keys(heavyWebCases))("%s: the isolate answers as Node does", async (name) => {
    const own = await loadArtifact(artifact);
    try {
      expect(await inIsolate(name, own)).toEqual(await inNode(name));
    } finally {
      own.dispose();
    }
  });
});

// The same cases with their answers written out, so that what matters does not rest on Node alone.
describe("answers that matter", () => {
  const F = "\ufffd";
  const rows: [string, unknown][] = [
    [
      "encode lone surrogates as U+FFFD",
      [
        [97, 239, 191, 189, 98],
        [239, 191, 189],
        [120, 239, 191, 189],
        [239, 191, 189, 240, 159, 152, 128],
      ],
    ],
    [
      "decode invalid UTF-8 with U+FFFD",
      [
        F.repeat(2),
        F.repeat(3),
        F.repeat(4),
        F.repeat(3),
        F.repeat(4),
        F,
        `${F}A`,
        `${F}A€`,
        F,
        F.repeat(2),
        `${F}${F}A`,
        F.repeat(5),
      ],
    ],
    ["fatal decoding throws on invalid UTF-8", Array(12).fill("TypeError")],
    ["decode reads only the bytes a view covers", ["héllo", `h${F}`, "xxhéllo!"]],
    ["btoa refuses characters above U+00FF", ["InvalidCharacterError", "InvalidCharacterError"]],
    ["atob refuses invalid input", Array(8).fill("InvalidCharacterError")],
    ["atob and btoa round trip long inputs", [2_720_000, "AAECAwQFBgcI", 2_040_000, true]],
    ["invalid URLs throw a TypeError", Array(4).fill("TypeError")],
    ["setting an invalid href throws", ["TypeError", "https://a.example/"]],
    [
      "URLSearchParams encodes spaces and !'()~*",
      ["a=x+y&b=%21%27%28%29%7E*&c+d=%C3%A9%26%3D%2B", "emoji=%F0%9F%98%80", "lone=%EF%BF%BD"],
    ],
    ["structuredClone refuses functions and symbols", ["DataCloneError", "DataCloneError"]],
    ["structuredClone keeps cycles and shared references", [true, true, true, true, true]],
    ["a once listener can be removed before it runs", ["kept"]],
    ["AbortSignal.any follows the first signal to abort", [false, [true, "b first"], "b first", true, "done"]],
    ["Headers refuse invalid names", Array(4).fill("TypeError")],
    ["DOMException has a name and a message", ["DataCloneError", "m", "Error", "only a message", true]],
  ];
  it.each(rows)("%s", async (name, expected) => {
    const own = name in heavyWebCases ? await loadArtifact(artifact) : isolate;
    try {
      expect(await inIsolate(name, own)).toEqual(expected);
    } finally {
      if (own !== isolate) own.dispose();
    }
  });
});

describe("URL in detail", () => {
  it("resolves, converts IDN and IPv6 hosts, and applies setters", async () => {
    const [relative] = (await inIsolate("URL resolves a relative reference against a base")) as Record<
      string,
      string
    >[];
    expect(relative?.href).toBe("https://a.example/b/c?x=1#h");
    const idn = (await inIsolate("URL converts IDN hosts to punycode")) as Record<string, string>;
    expect(idn.hostname).toBe("xn--bcher-kva.example");
    expect(idn.pathname).toBe("/%C3%A4");
    const [ipv6] = (await inIsolate("URL parses IPv6 hosts")) as Record<string, string>[];
    expect(ipv6).toMatchObject({ host: "[::1]:8080", hostname: "[::1]", port: "8080" });
    const [set] = (await inIsolate("URL setters")) as Record<string, string>[];
    expect(set).toMatchObject({ search: "?a=b%20c", hash: "#frag%20ment", pathname: "/x%20y/z", port: "" });
  });

  it("reflects searchParams mutations in href", async () => {
    const [hrefs, xs] = (await inIsolate("URL searchParams mutations are reflected in href")) as [string[], string[]];
    expect(hrefs).toEqual([
      "https://a.example/p?b=2&a=1&q=a+b%26c#h",
      "https://a.example/p?b=9&a=1&q=a+b%26c#h",
      "https://a.example/p?a=1&b=9&q=a+b%26c#h",
      "https://a.example/p#h",
    ]);
    expect(xs).toEqual(["1", "2"]);
  });
});

describe("timers", () => {
  it("fire in order of delay, a cleared one never, and a delay past the cap throws", async () => {
    const { fired, overCap } = await call("timers");
    expect(fired).toEqual(["0 ms", "10 ms", "20 ms", "30 ms"]);
    expect(overCap).toBe("RangeError");
  });

  it("are refused while no call runs (here: while the bundle loads)", async () => {
    const { loadTimer } = await call("timers");
    expect(loadTimer).toBe("RangeError: timers are available only while a call runs");
  });

  it("left behind by a call never fire after it", async () => {
    await call("leaveTimer");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await call("leftoverTimerFired")).toEqual({ fired: false });
  });

  it("left behind by calls do not keep what they hold alive", async () => {
    // Each call leaves a timer holding 4 MB; were they kept, allocation would fail after ~16 calls.
    const own = await loadArtifact(artifact);
    try {
      for (let i = 0; i < 30; i++) {
        expect(await own.callTool("leaveBigTimer", {}, callOptions())).toEqual({
          content: [{ type: "text", text: "left" }],
        });
      }
    } finally {
      own.dispose();
    }
  });

  it("drive AbortSignal.timeout, which aborts with a TimeoutError after its delay", async () => {
    const result = await call("abortTimeout", { ms: 30 });
    expect(result).toMatchObject({ before: false, after: true, reason: "TimeoutError" });
    expect(result.elapsed).toBeGreaterThanOrEqual(28);
  });
});

describe("crypto", () => {
  it("fills arrays with random values, at most 65536 bytes and only integer arrays", async () => {
    const { small, words, largestDistinct, tooLarge, floats } = await call("random");
    expect(small).toHaveLength(64);
    expect(new Set(small as number[]).size).toBeGreaterThan(20);
    expect((words as number[]).some((w) => w > 0xffff)).toBe(true);
    expect(largestDistinct).toBe(256);
    expect(tooLarge).toBe("QuotaExceededError");
    expect(floats).toBe("TypeMismatchError");
  });

  it("gives version 4 UUIDs, each different", async () => {
    const first = (await call("random")).uuids as string[];
    const second = (await call("random")).uuids as string[];
    for (const uuid of [...first, ...second]) {
      expect(uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(new Set([...first, ...second]).size).toBe(100);
  });
});

describe("where the isolate differs from Node on purpose", () => {
  it("decodes UTF-8 only and swallows an abort listener's error", async () => {
    expect(await call("differences")).toEqual({ latin1: "RangeError", afterThrowingListener: ["second listener"] });
  });
});
