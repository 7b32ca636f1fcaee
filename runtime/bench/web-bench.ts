// The web benchmark: `pnpm bench:web`. How long the web app's server-rendered pages take to
// answer on a warm process (targets: under 100 ms), against GET /healthz measured in the same
// loop as the baseline (the HTTP stack without a page), and how much JavaScript each page makes
// the browser download, gzipped (target: under 200 KB).
//
//   node --no-node-snapshot runtime/bench/web-bench.ts [--requests 200] [--warmup 30]
//
// Pages are fetched as a signed-in browser would (its session cookie), one request at a time:
// the figure is a page's own time, not a queue's.
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { startIsolaStack } from "./isola-stack.ts";
import { ms, quantile, ratio, table } from "./report.ts";

const { values: args } = parseArgs({
  options: { requests: { type: "string", default: "200" }, warmup: { type: "string", default: "30" } },
});
const requests = Number(args.requests);
const warmup = Number(args.warmup);
const TARGET_MS = 100;
const TARGET_JS_BYTES = 200 * 1024;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const log = (line: string) => process.stderr.write(`  ${line}\n`);

const stack = await startIsolaStack({ realStores: false, env: { ISOLA_ROLES: "runtime,control,web" } });
const { origin } = stack;

/** Signs a new account up; its session cookie. */
async function signUp(): Promise<string> {
  const response = await fetch(`${origin}/api/v1/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "web-bench@example.com", password: "a long enough password", name: "Bench" }),
  });
  if (!response.ok) throw new Error(`sign-up: ${response.status} ${await response.text()}`);
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .join("; ");
}

const cookie = await signUp();
const me = (await (await fetch(`${origin}/api/v1/me`, { headers: { cookie } })).json()) as {
  orgs: { slug: string }[];
};
const org = me.orgs[0]?.slug as string;
// The owner's server, in the signed-up user's org: the server pages have something to show.
await stack.deployHello("bench-hello", "public");
const orgRow = await stack.db.selectFrom("orgs").select("id").where("slug", "=", org).executeTakeFirstOrThrow();
await stack.db.updateTable("servers").set({ org_id: orgRow.id }).where("slug", "=", "bench-hello").execute();

/** Each page, and whether it is fetched signed in (the public ones are read by visitors). */
const PAGES: [string, boolean][] = [
  ["/", false],
  ["/signin", false],
  ["/dashboard", true],
  ["/servers/new", true],
  ["/servers/bench-hello", true],
  ["/servers/bench-hello/tools", true],
  ["/servers/bench-hello/metrics", true],
  ["/servers/bench-hello/versions", true],
  ["/servers/bench-hello/settings", true],
  [`/orgs/${org}`, true],
  [`/orgs/${org}/usage`, true],
];

async function get(path: string, signedIn = false): Promise<{ ms: number; status: number; body: string }> {
  const started = performance.now();
  const response = await fetch(`${origin}${path}`, { headers: signedIn ? { cookie } : {}, redirect: "manual" });
  const body = await response.text();
  return { ms: performance.now() - started, status: response.status, body };
}

const gzippedSize = async (url: string) => {
  const bytes = Buffer.from(await (await fetch(new URL(url, origin))).arrayBuffer());
  return { text: bytes.toString("utf8"), gzipped: gzipSync(bytes, { level: 6 }).length };
};

/**
 * The page's JavaScript, each file gzipped as a server would send it: what the HTML loads (its
 * module scripts, preloads and the hydration script's imports), and what those load later with
 * import() (with the files those import), which the browser fetches after the page is usable.
 */
async function scriptBytes(html: string): Promise<{ files: number; initial: number; later: number }> {
  const initial = new Set<string>();
  for (const match of html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)) {
    if (match[1]) initial.add(match[1]);
  }
  for (const match of html.matchAll(/import\s*(?:\*\s*as\s*\w+\s*from\s*)?"(\/assets\/[^"]+\.js)"/g)) {
    if (match[1]) initial.add(match[1]);
  }
  let initialBytes = 0;
  const dynamic: string[] = [];
  for (const url of initial) {
    const file = await gzippedSize(url);
    initialBytes += file.gzipped;
    for (const match of file.text.matchAll(/import\(\s*["'`]\.\/([^"'`]+\.js)["'`]\s*\)/g))
      dynamic.push(`/assets/${match[1]}`);
  }
  const later = new Set<string>();
  let laterBytes = 0;
  while (dynamic.length > 0) {
    const url = dynamic.pop() as string;
    if (initial.has(url) || later.has(url)) continue;
    later.add(url);
    const file = await gzippedSize(url);
    laterBytes += file.gzipped;
    for (const match of file.text.matchAll(/(?:from|import)\s*["'`]\.\/([^"'`]+\.js)["'`]/g))
      dynamic.push(`/assets/${match[1]}`);
  }
  return { files: initial.size + later.size, initial: initialBytes, later: laterBytes };
}

log(`Isola (runtime, control, web) at ${origin}; ${requests} requests a page after ${warmup} to warm up`);
const rows: string[][] = [];
const baseline: number[] = [];
let worstP95 = 0;
let heaviest = 0;
for (const [page, signedIn] of PAGES) {
  const first = await get(page, signedIn);
  if (first.status !== 200) throw new Error(`${page}: ${first.status}`);
  for (let i = 0; i < warmup; i++) await get(page, signedIn);
  const times: number[] = [];
  for (let i = 0; i < requests; i++) {
    times.push((await get(page, signedIn)).ms);
    // The baseline, interleaved: the same moment's machine, without a page.
    baseline.push((await get("/healthz")).ms);
  }
  const js = await scriptBytes(first.body);
  const p50 = quantile(times, 0.5);
  const p95 = quantile(times, 0.95);
  worstP95 = Math.max(worstP95, p95);
  heaviest = Math.max(heaviest, js.initial);
  rows.push([
    signedIn ? page : `${page} (visitor)`,
    ms(p50),
    ms(p95),
    ms(quantile(times, 0.99)),
    ratio(p50 / quantile(baseline, 0.5)),
    `${kb(js.initial)}${js.later ? ` + ${kb(js.later)} later` : ""} (${js.files} files)`,
  ]);
}

await stack.close();
process.stdout.write(
  [
    "",
    `Web pages, server-rendered, warm (${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version})`,
    table(["page", "p50", "p95", "p99", "p50 / baseline", "client JS, gzipped"], rows),
    `baseline GET /healthz: p50 ${ms(quantile(baseline, 0.5))}, p95 ${ms(quantile(baseline, 0.95))}`,
    `target: every page under ${TARGET_MS} ms at p95 -> ${worstP95 < TARGET_MS ? "met" : "NOT met"} (worst p95 ${ms(worstP95)})`,
    `target: client JS a page loads under ${TARGET_JS_BYTES / 1024} KB gzipped -> ${heaviest < TARGET_JS_BYTES ? "met" : "NOT met"} (heaviest ${kb(heaviest)}; "later": fetched by import() once the page is usable)`,
    "",
  ].join("\n"),
);
