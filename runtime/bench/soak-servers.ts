// The soak's tenants: one server source with three tool shapes (a pure function, one that burns
// CPU, one answering ~16 KB), deployed through the control API with an API key each, and the mix
// of MCP requests the load makes to them.
import { copyActiveVersion } from "./isola-stack.ts";
import { EXPECTED_TEXT, type LoadRoute, MCP_HEADERS } from "./load-client.ts";
import { openSession } from "./mcp-session.ts";
import type { SoakIsola } from "./soak-isola.ts";

/** `variant` changes a comment only: a redeploy compiles and activates new code with the same tools. */
export function soakSource(variant: number): string {
  return `// soak variant ${variant}
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "soak",
  description: "Tool shapes for the soak bench",
  tools: {
    hello: tool({
      description: "Greets someone by name",
      input: z.object({ name: z.string().min(1) }),
      annotations: { readOnlyHint: true },
      run: ({ name }) => \`Hello, \${name}!\`,
    }),
    crunch: tool({
      description: "Counts the primes below n by trial division",
      input: z.object({ n: z.number().int().min(2).max(200000) }),
      run: ({ n }) => {
        let count = 0;
        for (let i = 2; i < n; i++) {
          let prime = true;
          for (let d = 2; d * d <= i; d++) {
            if (i % d === 0) {
              prime = false;
              break;
            }
          }
          if (prime) count++;
        }
        return \`primes below \${n}: \${count}\`;
      },
    }),
    report: tool({
      description: "Returns a table of rows",
      input: z.object({ rows: z.number().int().min(1).max(1000) }),
      run: ({ rows }) => {
        const items = Array.from({ length: rows }, (_, i) => ({
          id: i,
          name: \`item-\${i}\`,
          score: (i * 7919) % 1000,
          tags: ["alpha", "beta", "gamma"].slice(0, 1 + (i % 3)),
        }));
        return \`report of \${rows} rows\\n\${JSON.stringify(items)}\`;
      },
    }),
  },
});
`;
}

/** The three tool calls and what each answer must contain. */
export const SHAPES = {
  hello: { params: { name: "hello", arguments: { name: "bench" } }, expect: EXPECTED_TEXT },
  // ~2 ms of CPU in an isolate (3,245 primes below 30,000).
  crunch: { params: { name: "crunch", arguments: { n: 30000 } }, expect: "primes below 30000: 3245" },
  // ~16 KB of text.
  report: { params: { name: "report", arguments: { rows: 200 } }, expect: "report of 200 rows" },
} as const;

export interface SoakServer {
  slug: string;
  /** Authorization header value: the server's API key. */
  authorization: string;
}

/**
 * Creates an API-key server, deploys `soakSource(variant)` to it and creates its key. With
 * `copyFrom` (a deployed soak server) and a database the benchmark can reach, the compiled version
 * is copied rather than compiled again: the soak measures serving, not the compiler.
 */
export async function deploySoakServer(
  isola: SoakIsola,
  slug: string,
  options: { variant?: number; copyFrom?: string } = {},
): Promise<SoakServer> {
  const server = await isola.api("POST", "servers", { slug, name: slug, authMode: "api_key" });
  if (options.copyFrom && isola.db) {
    await copyActiveVersion(isola.db, options.copyFrom, server.id as string);
    await isola.api("POST", `servers/${slug}/deploy`, { version: 1 });
  } else {
    await redeploySoakServer(isola, slug, options.variant ?? 0);
  }
  const { key } = await isola.api("POST", `servers/${slug}/keys`, { name: "soak" });
  return { slug, authorization: `Bearer ${key}` };
}

/** A new version of the server's code, compiled and activated. */
export async function redeploySoakServer(isola: SoakIsola, slug: string, variant: number): Promise<void> {
  const version = await isola.api("POST", `servers/${slug}/versions`, { source: soakSource(variant) });
  await isola.api("POST", `servers/${slug}/deploy`, { version: version.number });
}

/** One request of each shape on a new session, as a client that just connected would. */
export async function callEveryShape(origin: string, server: SoakServer): Promise<void> {
  const url = `${origin}/${server.slug}/mcp`;
  const credentials = { authorization: server.authorization };
  const session = await openSession(url, credentials);
  for (const [shape, { params, expect }] of Object.entries(SHAPES)) {
    const response = await fetch(url, {
      method: "POST",
      headers: { ...MCP_HEADERS, ...credentials, "mcp-session-id": session },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params }),
    });
    const text = await response.text();
    if (response.status !== 200 || !text.includes(expect) || text.includes('"isError":true'))
      throw new Error(`${shape} at ${url}: ${response.status} ${text.slice(0, 300)}`);
  }
}

/**
 * The requests one server receives per round of the mix, over its open session: mostly the pure
 * tool, then the others; every fourth server also gets a new session (initialize, a call, DELETE).
 */
export function routesFor(server: SoakServer, session: string, index: number): LoadRoute[] {
  const path = `/${server.slug}/mcp`;
  const headers = { ...MCP_HEADERS, authorization: server.authorization, "mcp-session-id": session };
  const call = (kind: keyof typeof SHAPES): LoadRoute => ({ path, headers, kind, ...SHAPES[kind] });
  const routes: LoadRoute[] = [
    call("hello"),
    call("hello"),
    call("hello"),
    call("crunch"),
    call("report"),
    { path, headers, kind: "tools/list", method: "tools/list", params: {}, expect: '"name":"crunch"' },
  ];
  if (index % 4 === 0) {
    routes.push({
      path,
      headers: { ...MCP_HEADERS, authorization: server.authorization },
      kind: "new session",
      newSession: true,
      ...SHAPES.hello,
    });
  }
  return routes;
}

/** A fixed shuffle (the same run to run), so that each server's requests spread over the round. */
export function shuffled<T>(items: T[], seed = 1): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
