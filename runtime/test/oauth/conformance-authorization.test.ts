// The official MCP conformance suite's authorization server checks (`conformance authorization`,
// in @modelcontextprotocol/conformance 0.2.0-alpha.12 and later), run against a real listening
// instance: its metadata endpoint, then the authorization code grant (PKCE, a resource indicator
// for an `oauth` server) of a public client registered dynamically. The suite plays that client
// with a loopback callback and prints the authorization URL for a person to open; the headless
// agent opens it, signs in and consents, and delivers the redirect to the suite's callback.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ConsentChoice, OAuthAgent } from "../support/oauth-agent.ts";
import { registerPublicClient } from "../support/oauth-client.ts";
import { type OAuthInstance, type Person, startOAuthInstance } from "../support/oauth-fixtures.ts";
import { freePort } from "../support/redis-server.ts";
import { eventually } from "../support/wait.ts";

const PACKAGE = new URL("../../../node_modules/@modelcontextprotocol/conformance/", import.meta.url);
const CONFORMANCE = fileURLToPath(new URL("dist/index.js", PACKAGE));

/**
 * The suite's authorization server scenarios, each applicable to Isola or listed with the reason it
 * is not. A scenario a new version adds fails the first test until it is placed here.
 */
const SCENARIOS: Record<string, { applies: true } | { applies: false; reason: string }> = {
  "authorization-server-metadata-endpoint": { applies: true },
  "authorization-code-grant": { applies: true },
};

/** Checks of applicable scenarios that Isola does not pass, by design, with the reason: none. */
const NOT_APPLICABLE_CHECKS: Record<string, string> = {};

/** The suite's other scenarios about authorization, and why they are not run against Isola. */
const ELSEWHERE = {
  client:
    "the auth/* client scenarios test an MCP client (discovery, registration, CIMD, scope selection, " +
    "step-up, DPoP, client_credentials, ...) against the suite's own stand-in authorization and " +
    "resource servers: Isola takes no part in them",
  server: "no server scenario concerns authorization: they run against a public server (mcp/conformance-suite.test.ts)",
};

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "SKIPPED" | "INFO";
  errorMessage?: string;
  details?: Record<string, unknown>;
}

interface Run {
  child: ChildProcess;
  /** stdout and stderr as they came. */
  output(): string;
  exited: Promise<number | null>;
}

/** The CLI, asynchronously (the instance under test lives in this process). */
function conformance(args: string[]): Run {
  const child = spawn(process.execPath, [CONFORMANCE, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { child, output: () => output, exited };
}

/** The scenario names a `list` prints. */
async function listed(section: "authorization" | "client" | "server"): Promise<string[]> {
  const listing = conformance(["list", `--${section}`]);
  if ((await listing.exited) !== 0) throw new Error(listing.output());
  return [...listing.output().matchAll(/^ {2}- (\S+)/gm)].map((match) => match[1] as string);
}

/** The checks each scenario wrote (`authorization-server-<scenario>-<timestamp>/checks.json`), by scenario. */
function checksIn(dir: string): Record<string, Check[]> {
  return Object.fromEntries(
    readdirSync(dir).map((entry) => [
      entry.replace(/^authorization-server-/, "").replace(/-\d{4}-\d\d-\d\dT[\d-]+Z$/, ""),
      JSON.parse(readFileSync(join(dir, entry, "checks.json"), "utf8")) as Check[],
    ]),
  );
}

describe("the official conformance suite's authorization server checks", () => {
  let instance: OAuthInstance;
  let owner: Person;
  let url: string;
  const cleanup: (() => void)[] = [];

  beforeAll(async () => {
    instance = await startOAuthInstance();
    owner = await instance.person();
    url = await instance.server(owner, "conformance-notes");
  }, 120_000);
  afterEach(() => {
    for (const step of cleanup.splice(0).reverse()) step();
  });
  afterAll(async () => {
    await instance?.close();
  });

  /**
   * Every authorization server scenario, as a public client registered with the suite's callback,
   * for `resource`, with `consent` given on the page the suite sends a person to. The checks each
   * scenario wrote, the CLI's exit status and output, and the authorization request and response.
   */
  async function runSuite(resource: string, consent: ConsentChoice = "allow") {
    const port = await freePort();
    const client = await registerPublicClient(instance.issuer, {
      client_name: "MCP conformance suite",
      redirect_uris: [`http://127.0.0.1:${port}/callback`],
    });
    const results = mkdtempSync(join(tmpdir(), "isola-conformance-authorization-"));
    cleanup.push(() => rmSync(results, { recursive: true, force: true }));
    const run = conformance([
      "authorization",
      ...["--url", instance.issuer, "--client-id", client.client_id, "--resource", resource],
      ...["--port", String(port), "--output-dir", results],
    ]);
    cleanup.push(() => run.child.kill("SIGKILL"));
    // It waits (up to 5 minutes) for someone to open this URL in a browser.
    const printed = await eventually(
      () =>
        /^(https?:\/\/\S+\/auth\?\S+)$/m.exec(run.output())?.[1] ?? (run.child.exitCode === null ? undefined : null),
      20_000,
    );
    if (!printed) throw new Error(`the suite exited before asking for a sign-in: ${run.output()}`);
    const { callback } = await new OAuthAgent().authorize(printed, owner, { deliver: true, consent });
    const status = await run.exited;
    return { checks: checksIn(results), status, output: run.output(), authorization: new URL(printed), callback };
  }

  it("are the scenarios the installed suite offers; its other authorization scenarios test clients", async () => {
    const { version } = JSON.parse(readFileSync(new URL("package.json", PACKAGE), "utf8")) as { version: string };
    const offered = await listed("authorization").catch((error: Error) => {
      throw new Error(
        `\`conformance authorization\` needs @modelcontextprotocol/conformance 0.2.0-alpha.12 or later; installed: ${version}\n${error.message}`,
      );
    });
    expect(offered.sort()).toEqual(Object.keys(SCENARIOS).sort());
    const [client, server] = await Promise.all([listed("client"), listed("server")]);
    expect(client.filter((name) => name.startsWith("auth/")).length, ELSEWHERE.client).toBeGreaterThan(0);
    expect(
      server.filter((name) => /auth|oauth|token/i.test(name)),
      ELSEWHERE.server,
    ).toEqual([]);
  });

  it("pass, every check, for an oauth server's MCP URL", async () => {
    const { checks, status, output, authorization, callback } = await runSuite(url);
    expect(Object.keys(checks).sort()).toEqual(
      Object.entries(SCENARIOS)
        .filter(([, scenario]) => scenario.applies)
        .map(([name]) => name)
        .sort(),
    );
    const all = Object.values(checks).flat();
    expect(
      all.filter((check) => check.status !== "SUCCESS").map((check) => check.id),
      output,
    ).toEqual(Object.keys(NOT_APPLICABLE_CHECKS));
    expect(all.map((check) => check.id).sort()).toEqual([
      "authorization-code-grant",
      "authorization-server-metadata",
      "authorization-server-metadata-cimd",
    ]);
    expect(status, output).toBe(0);

    // What the suite saw: the metadata (at the RFC 8414 path-inserted URL), and a code for its
    // request, with its state and our issuer, exchanged for a bearer token for that server.
    expect(checks["authorization-server-metadata-endpoint"]?.[0]?.details?.body).toMatchObject({
      issuer: instance.issuer,
      authorization_endpoint: `${instance.issuer}/auth`,
      token_endpoint: `${instance.issuer}/token`,
      code_challenge_methods_supported: ["S256"],
      client_id_metadata_document_supported: true,
    });
    expect(authorization.origin + authorization.pathname).toBe(`${instance.issuer}/auth`);
    expect(authorization.searchParams.get("resource")).toBe(url);
    expect(callback.searchParams.get("state")).toBe(authorization.searchParams.get("state"));
    expect(callback.searchParams.get("iss")).toBe(instance.issuer);
    expect(checks["authorization-code-grant"]?.[0]?.details?.body).toMatchObject({
      token_type: "Bearer",
      scope: "mcp:tools",
    });
  });

  it("fail the code grant when the person declines", async () => {
    const { checks, status, callback } = await runSuite(url, "deny");
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(checks["authorization-code-grant"]).toMatchObject([
      { id: "authorization-code-grant", status: "FAILURE", errorMessage: expect.stringMatching(/access_denied/) },
    ]);
    expect(status).toBe(1);
  });

  it("fail the code grant for a resource that is not one of the instance's servers", async () => {
    const { checks, status, callback } = await runSuite(`${instance.api.url}/no-such-server/mcp`);
    expect(callback.searchParams.get("error")).toBe("invalid_target");
    expect(checks["authorization-code-grant"]).toMatchObject([
      { id: "authorization-code-grant", status: "FAILURE", errorMessage: expect.stringMatching(/invalid_target/) },
    ]);
    expect(status).toBe(1);
  });
});
