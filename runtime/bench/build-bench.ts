// The build benchmark: `pnpm bench:build`. How long a build takes from "code received" (the
// model's code answer has arrived: the build's `code` event) to "live" (deployed, and the new
// server answers tools/list with its tools), for a 10-tool server, over N builds one after
// another; with the share of each step. The model is the fake Messages API answering recorded
// messages (the tests' fake-anthropic.ts): the figures are Isola's own time, not a model's.
//
//   node --no-node-snapshot runtime/bench/build-bench.ts [--builds 30] [--warmup 2] [--real-stores]
//
// The check step is the compiler in one call (bundle, type-check and static checks in parallel,
// then a load in a sandbox and the manifest checks); its inner split is measured after the
// builds, by compiling the same source directly.
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { compileServer, SandboxSupervisor } from "@isola/sandbox";
import type { ServerSource } from "@isola/schema";
import { followEvents } from "../test/builds/event-stream-client.ts";
import { answer, recorded, startFakeAnthropic, withToolInput } from "../test/support/fake-anthropic.ts";
import { startIsolaStack } from "./isola-stack.ts";
import { MCP_HEADERS } from "./load-client.ts";
import { openSession } from "./mcp-session.ts";
import { ms, quantile, table } from "./report.ts";

const { values: args } = parseArgs({
  options: {
    builds: { type: "string", default: "30" },
    warmup: { type: "string", default: "2" },
    "real-stores": { type: "boolean", default: false },
  },
});
const builds = Number(args.builds);
const warmup = Number(args.warmup);
const TARGET_P50_MS = 2000;
const BRIEF = "A read-only server over Open Library: search books and authors, works, editions, subjects, covers";
const TOOLS = 10;

const log = (line: string) => process.stderr.write(`  ${line}\n`);

const code = recorded("code-open-library");
const sourceOf = (message: typeof code): ServerSource => {
  const call = message.content.find((block) => block.type === "tool_use");
  if (call?.type !== "tool_use") throw new Error("code-open-library has no tool call");
  return (call.input as { files: ServerSource }).files;
};
const files = sourceOf(code);
/** The recorded code with a line of its own: every build compiles, loads and stores new code. */
const variant = (n: number) =>
  withToolInput(code, { files: { ...files, "index.ts": `${files["index.ts"]}\n// build ${n}\n` } });

const fake = await startFakeAnthropic();
// The SDK reads it when the runner's model makes its client.
process.env.ANTHROPIC_BASE_URL = fake.url;
const stack = await startIsolaStack({
  realStores: args["real-stores"],
  env: { ISOLA_ROLES: "runtime,control,worker", ANTHROPIC_API_KEY: "sk-ant-bench" },
});
log(`Isola on ${args["real-stores"] ? "PostgreSQL + Redis" : "PGlite + the in-process bus"} at ${stack.origin}`);

async function api(method: "GET" | "POST", url: string, body?: unknown) {
  const response = await fetch(`${stack.origin}/api/v1/${url}`, {
    method,
    headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** A new session's tools/list; when (wall clock, as the events' times) it answered with every tool. */
async function listTools(url: string): Promise<number> {
  const session = await openSession(url);
  const response = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, "mcp-session-id": session },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
  });
  const body = (await response.json()) as { result?: { tools?: unknown[] } };
  const answeredAt = Date.now();
  if (response.status !== 200 || body.result?.tools?.length !== TOOLS) {
    throw new Error(`tools/list at ${url}: ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
  return answeredAt;
}

interface Sample {
  /** "code received" to "live". */
  total: number;
  check: number;
  version: number;
  deploy: number;
  /** From the deployed event to the first tools/list answered (seeing the event, a new session, the list). */
  live: number;
}

async function build(n: number): Promise<Sample> {
  fake.queue(answer.message("plan-open-library"));
  const created = await api("POST", "builds", { prompt: BRIEF, slug: `library-${n}`, authMode: "public" });
  const stream = await followEvents(stack.origin, stack.adminToken, created.id);
  await stream.until("waiting");
  fake.queue(answer.message(variant(n)));
  await api("POST", `builds/${created.id}/confirm`, { approvedEgress: ["openlibrary.org"] });
  // When the server stored each event (by type, or "step <name>"): the code event is stored as
  // soon as the model's answer has arrived.
  const at = new Map<string, number>();
  let liveAt = Number.NaN;
  for (let message = await stream.next(); message; message = await stream.next()) {
    const event = JSON.parse(message.data) as { type: string; data: Record<string, unknown>; at: string };
    at.set(event.type === "step" ? `step ${event.data.step}` : event.type, Date.parse(event.at));
    // Asked at once, before reading on: the server is live from this event.
    if (event.type === "deployed") liveAt = await listTools(String(event.data.url));
    if (event.type === "failed") throw new Error(`build ${n} failed: ${message.data}`);
  }
  if (!at.has("succeeded")) throw new Error(`build ${n} ended without succeeding`);
  const span = (from: string, to: string) => (at.get(to) ?? Number.NaN) - (at.get(from) ?? Number.NaN);
  return {
    total: liveAt - (at.get("code") ?? Number.NaN),
    check: span("step check", "check.passed"),
    version: span("step version", "version"),
    deploy: span("step deploy", "deployed"),
    live: liveAt - (at.get("deployed") ?? Number.NaN),
  };
}

const first: Sample[] = [];
for (let n = 0; n < warmup; n++) first.push(await build(n));
log(`warm-up: ${first.map((s) => ms(s.total)).join(", ")}`);
const samples: Sample[] = [];
for (let n = 0; n < builds; n++) {
  samples.push(await build(warmup + n));
  if ((n + 1) % 10 === 0) log(`${n + 1} builds`);
}
await stack.close();
await fake.close();

// The check step's inside: the same source compiled here, the sandbox load timed through `describe`.
const sandbox = new SandboxSupervisor({
  shards: 1,
  loadArtifact: async () => {
    throw new Error("no stored versions here");
  },
});
await sandbox.start();
const split = { compile: [] as number[], load: [] as number[], manifest: [] as number[] };
for (let n = 0; n < 12; n++) {
  const started = performance.now();
  let loading = 0;
  let loaded = 0;
  const result = await compileServer(
    { ...files, "index.ts": `${files["index.ts"]}\n// split ${n}\n` },
    {
      describe: async (bundle) => {
        loading = performance.now();
        const described = await sandbox.describe(bundle);
        loaded = performance.now();
        return described;
      },
    },
  );
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  if (n < 2) continue;
  split.compile.push(loading - started);
  split.load.push(loaded - loading);
  split.manifest.push(performance.now() - loaded);
}
await sandbox.close();

const p50 = (values: number[]) => quantile(values, 0.5);
const totals = samples.map((s) => s.total);
const median = p50(totals);
const share = (values: number[]) => `${ms(p50(values))} (${Math.round((p50(values) / median) * 100)}%)`;
const other = samples.map((s) => s.total - s.check - s.version - s.deploy - s.live);

const machine = `Node ${process.versions.node}, ${cpus().length} cores, ${Math.round(totalmem() / 1024 ** 3)} GiB`;
process.stdout.write(`\n## Builds: code received to live, ${TOOLS}-tool server (${machine})\n\n`);
process.stdout.write(
  `${table(
    ["metric", "value", "target"],
    [
      [`code received -> live, p50 (${builds} builds)`, ms(median), `<= ${TARGET_P50_MS} ms`],
      ["code received -> live, p99", ms(quantile(totals, 0.99)), ""],
      ["first builds (warm-up)", first.map((s) => ms(s.total)).join(", "), ""],
      ["  check: compile + checks + sandbox load", share(samples.map((s) => s.check)), ""],
      ["  version: store the version, diff the tools", share(samples.map((s) => s.version)), ""],
      ["  deploy: activate, announce", share(samples.map((s) => s.deploy)), ""],
      ["  live: deployed event seen, new session, tools/list", share(samples.map((s) => s.live)), ""],
      ["  between the steps (events, build state)", share(other), ""],
    ],
  )}\n`,
);
process.stdout.write(
  `\nThe check step's inside (the same source compiled ${split.compile.length} times here, p50):\n\n${table(
    ["part", "p50"],
    [
      ["bundle + type-check + static code checks (in parallel)", ms(p50(split.compile))],
      ["load in a sandbox (describe)", ms(p50(split.load))],
      ["manifest checks (schemas, injection scan)", ms(p50(split.manifest))],
    ],
  )}\n`,
);
const met = median <= TARGET_P50_MS;
process.stdout.write(`\np50 ${ms(median)}: target <= ${TARGET_P50_MS} ms ${met ? "met" : "NOT met"}\n`);
process.exit(0);
