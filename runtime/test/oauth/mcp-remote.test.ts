// mcp-remote (the stdio bridge desktop clients use; pinned in the root package.json) against an
// `oauth` server, with no screen: it discovers the authorization server, registers itself, and
// opens "the browser", a BROWSER script that only writes the URL down (mcp-remote opens URLs with
// xdg-open, which runs $BROWSER when there is no desktop session). The headless agent then signs
// in and consents on the real pages and delivers the redirect to mcp-remote's loopback callback,
// and the SDK's stdio client speaks MCP through it, as a desktop app would.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OAuthAgent } from "../support/oauth-agent.ts";
import { claimsOf } from "../support/oauth-client.ts";
import { type OAuthInstance, type Person, startOAuthInstance } from "../support/oauth-fixtures.ts";
import { freePort } from "../support/redis-server.ts";
import { eventually } from "../support/wait.ts";

const MCP_REMOTE = fileURLToPath(new URL("../../../node_modules/mcp-remote/dist/proxy.js", import.meta.url));

/** One desktop: a home, mcp-remote's credential store in it, and a browser that writes down what it is asked to open. */
class Desktop {
  readonly home = mkdtempSync(join(tmpdir(), "isola-mcp-remote-"));
  /** MCP_REMOTE_CONFIG_DIR: mcp-remote keeps its registrations and tokens under `mcp-remote-v1/`. */
  readonly store = join(this.home, "mcp-auth");
  readonly browser = join(this.home, "browser.sh");
  readonly #opened = join(this.home, "opened");

  constructor() {
    writeFileSync(this.browser, `#!/bin/sh\nprintf '%s\\n' "$1" >> '${this.#opened}'\n`);
    chmodSync(this.browser, 0o755);
  }

  opened(): string[] {
    return existsSync(this.#opened) ? readFileSync(this.#opened, "utf8").split("\n").filter(Boolean) : [];
  }

  /** The file mcp-remote keeps for the server, by its suffix (`tokens.json`, `client_info.json`). */
  file(suffix: string): string | undefined {
    const dir = join(this.store, "mcp-remote-v1");
    const name = existsSync(dir) ? readdirSync(dir).find((entry) => entry.endsWith(`_${suffix}`)) : undefined;
    return name ? join(dir, name) : undefined;
  }

  read(suffix: string): Record<string, unknown> {
    const file = this.file(suffix);
    if (!file) throw new Error(`mcp-remote stored no ${suffix}`);
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  }

  remove(): void {
    rmSync(this.home, { recursive: true, force: true });
  }
}

describe("mcp-remote against an oauth server", () => {
  let instance: OAuthInstance;
  let owner: Person;
  let url: string;
  const cleanup: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    instance = await startOAuthInstance();
    owner = await instance.person();
    url = await instance.server(owner, "remote-notes");
  }, 120_000);
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  afterAll(async () => {
    await instance?.close();
  });

  function desktop(): Desktop {
    const made = new Desktop();
    cleanup.push(() => made.remove());
    return made;
  }

  /** mcp-remote for the server, spawned by the SDK's stdio client as an MCP host spawns it; stopped after the test. */
  function bridge(on: Desktop, callbackPort: number) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [MCP_REMOTE, url, String(callbackPort)],
      // The SDK passes only a safe set of variables on (no DISPLAY, no desktop session).
      env: { HOME: on.home, MCP_REMOTE_CONFIG_DIR: on.store, BROWSER: on.browser },
      stderr: "pipe",
    });
    let log = "";
    transport.stderr?.on("data", (chunk: Buffer) => {
      log += chunk.toString();
    });
    const client = new Client({ name: "desktop-app", version: "1.0.0" });
    cleanup.push(async () => {
      const pid = transport.pid;
      await client.close();
      // Closing the client ends the child: nothing is left listening on the callback port.
      if (pid) await eventually(() => (isRunning(pid) ? undefined : true), 5000);
    });
    return { transport, client, log: () => log };
  }

  /** The authorization URL mcp-remote asked the browser to open. */
  async function browserOpens(on: Desktop): Promise<URL> {
    return new URL(await eventually(() => on.opened()[0], 15_000));
  }

  it("signs in through the browser it opens, then relays initialize, tools/list and tools/call", async () => {
    const home = desktop();
    const port = await freePort();
    const redirect = `http://localhost:${port}/oauth/callback`;
    const run = bridge(home, port);

    // connect() sends initialize, which mcp-remote relays once it holds a token.
    const connecting = run.client.connect(run.transport);
    const authorization = await browserOpens(home);
    expect(authorization.origin + authorization.pathname).toBe(`${instance.issuer}/auth`);
    expect(Object.fromEntries(authorization.searchParams)).toMatchObject({
      response_type: "code",
      code_challenge_method: "S256",
      redirect_uri: redirect,
      resource: url,
    });

    const { callback, pages } = await new OAuthAgent().authorize(authorization, owner, { deliver: true });
    expect(pages).toHaveLength(2); // sign-in, then consent
    expect(callback.origin + callback.pathname).toBe(redirect);
    expect(callback.searchParams.get("iss")).toBe(instance.issuer);
    await connecting;

    expect(run.client.getServerVersion()?.name, run.log()).toBe("hello");
    const { tools } = await run.client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(["hello"]);
    const result = await run.client.callTool({ name: "hello", arguments: { name: "Ada" } });
    expect(result).toMatchObject({ content: [{ type: "text", text: "Hello, Ada!" }] });
    expect(result.isError).toBeFalsy();
    // Arguments the tool's schema refuses come back as the server's tool error, relayed as is.
    const refused = await run.client.callTool({ name: "hello", arguments: { name: "" } });
    expect(refused.isError).toBe(true);

    // It registered itself dynamically, with its loopback callback.
    const info = home.read("client_info.json");
    const registration = await instance.api.stores.db
      .selectFrom("oauth_models")
      .select("payload")
      .where("model", "=", "Client")
      .where("id", "=", String(info.client_id))
      .executeTakeFirst();
    expect(registration?.payload).toMatchObject({ client_name: "MCP CLI Proxy", redirect_uris: [redirect] });

    // Its token is for this server only, on behalf of the person who signed in.
    const tokens = home.read("tokens.json");
    expect(claimsOf(String(tokens.access_token))).toMatchObject({
      iss: instance.issuer,
      aud: url,
      sub: owner.userId,
      client_id: info.client_id,
      scope: "mcp:tools",
    });
    expect(typeof tokens.refresh_token).toBe("string");

    // The person sees the grant they gave, naming the client and the server.
    const grants = await owner.session.get("me/grants");
    expect(grants.body.items).toContainEqual(
      expect.objectContaining({
        client: { id: info.client_id, name: "MCP CLI Proxy" },
        resources: [{ url, server: "remote-notes", scopes: ["mcp:tools"] }],
      }),
    );

    // The app restarts (a new process on the same callback port), and its access token no longer
    // passes: it goes on with the stored grant, refreshing (the refresh token rotates), with no browser.
    await run.client.close();
    const refusalsBefore = unauthorized(instance.api.logs);
    writeFileSync(
      home.file("tokens.json") as string,
      JSON.stringify({ ...tokens, access_token: `${String(tokens.access_token).slice(0, -4)}AAAA` }),
    );
    const again = bridge(home, port);
    await again.client.connect(again.transport);
    const second = await again.client.callTool({ name: "hello", arguments: { name: "Grace" } });
    expect(second, again.log()).toMatchObject({ content: [{ type: "text", text: "Hello, Grace!" }] });
    expect(home.opened()).toHaveLength(1);
    expect(unauthorized(instance.api.logs)).toBeGreaterThan(refusalsBefore);
    expect(home.read("client_info.json").client_id).toBe(info.client_id);
    const refreshed = home.read("tokens.json");
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(claimsOf(String(refreshed.access_token))).toMatchObject({ aud: url, client_id: info.client_id });
  });

  it("gives up, holding no token, when the person declines", async () => {
    const home = desktop();
    const run = bridge(home, await freePort());
    const connecting = run.client.connect(run.transport);
    // Observed below; without a handler the rejection could surface before the expect.
    connecting.catch(() => undefined);
    const { callback } = await new OAuthAgent().authorize(await browserOpens(home), owner, {
      consent: "deny",
      deliver: true,
    });
    expect(callback.searchParams.get("error")).toBe("access_denied");
    await expect(connecting).rejects.toThrow();
    expect(run.log()).toContain("Authorization failed: access_denied");
    expect(home.file("tokens.json")).toBeUndefined();
  });
});

/** How many MCP requests the runtime answered 401 (from its access log). */
function unauthorized(logs: string[]): number {
  return logs.filter((line) => {
    const entry = JSON.parse(line) as { msg?: string; access?: { status?: number } };
    return entry.msg === "mcp request" && entry.access?.status === 401;
  }).length;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
