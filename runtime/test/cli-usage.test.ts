import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, isola } from "./support/cli.ts";

// No Isola runs here: these are the command line's own answers, before any request is sent
// (or, for the last cases, requests that cannot reach anything).
const configHome = mkdtempSync(join(tmpdir(), "isola-cli-usage-"));
afterAll(() => rmSync(configHome, { recursive: true, force: true }));
const env = { XDG_CONFIG_HOME: configHome };
// An instance nobody listens on, and a token that would parse: enough to get past "not logged in".
const closedUrl = `http://127.0.0.1:${await freePort()}`;
const unreachable = { ...env, ISOLA_URL: closedUrl, ISOLA_TOKEN: "isola_pat_abcdefghijklmnopqrstuvwxyz" };

describe("the command line is wrong: exit 2 with the usage", () => {
  it.concurrent.each([
    [["bogus"], /^isola: unknown command "bogus"\n\nUsage: isola <command>/],
    [["servers"], /^isola: "isola servers" needs a subcommand\n\nUsage: isola servers <command>/],
    [["servers", "frob"], /^isola: unknown command "servers frob"\n\nUsage: isola servers <command>/],
    [
      ["servers", "ls", "--bogus"],
      /^isola: unknown option --bogus\n\nUsage: isola servers ls \[--org O\] \[--json\]\n$/,
    ],
    [["deploy"], /^isola: missing DIR\n\nUsage: isola deploy DIR --slug S/],
    [["deploy", "examples/hello"], /^isola: --slug is required: the server to deploy to\n\nUsage: isola deploy DIR/],
    [["deploy", "examples/hello", "--slug"], /^isola: --slug needs a value/],
    [
      ["deploy", "examples/hello", "--slug", "hello", "--auth-mode", "magic"],
      /--auth-mode is one of oauth, api_key, public, not "magic"/,
    ],
    [
      ["servers", "create", "hello"],
      /^isola: --auth-mode is required: oauth, api_key, public\n\nUsage: isola servers create SLUG/,
    ],
    [
      ["rollback", "hello", "one"],
      /^isola: VERSION is a whole number from 1, not "one"\n\nUsage: isola rollback SLUG VERSION/,
    ],
    [["versions", "deploy", "hello"], /^isola: missing VERSION/],
    [["keys", "create", "hello"], /^isola: --name is required\n\nUsage: isola keys create SLUG --name N/],
    [
      ["keys", "create", "hello", "--name", "ci", "--expires-in-days", "0"],
      /--expires-in-days takes a whole number from 1 to 3650, not "0"/,
    ],
    [["audit", "--limit", "1000"], /--limit takes a whole number from 1 to 200, not "1000"/],
    [["login", "--token", "isola_pat_abcdefghijklmnopqrstuvwxyz"], /^isola: say where Isola runs with --url URL/],
    [
      ["login", "--url", "localhost:3000", "--token", "x"],
      /^isola: --url takes an http\(s\) URL, not "localhost:3000"/,
    ],
    [["login", "--url", "http://localhost:3000"], /^isola: --token is required \(--token - reads it from stdin\)/],
    [["secrets", "set", "hello", "api-key"], /^isola: "api-key" is not a secret name/],
    [["help", "frobnicate"], /^isola: no command "frobnicate"/],
  ])("isola %j", async (args, expected) => {
    // No credentials at all: each of these is refused before they would be needed.
    const result = await isola(args, { env });
    expect(result.stderr).toMatch(expected);
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
  });

  it("refuses `servers rm` without --yes, and says how to go ahead", async () => {
    const result = await isola(["servers", "rm", "hello"], { env: unreachable });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^isola: refusing to delete hello without --yes: .*isola servers rm hello --yes\n/);
  });

  it("takes no secret value on the command line, and does not echo one given there", async () => {
    const result = await isola(["secrets", "set", "hello", "API_KEY", "hunter2-secret"], { env: unreachable });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^isola: too many arguments: expected SLUG NAME\n\nUsage: isola secrets set SLUG NAME/,
    );
    expect(result.stderr).not.toContain("hunter2");
  });
});

describe("help", () => {
  it.concurrent.each([
    [[], /^Usage: isola <command>/],
    [["help"], /^Usage: isola <command>[\s\S]*deploy[\s\S]*secrets/],
    [["--help"], /^Usage: isola <command>/],
    [["help", "deploy"], /^Usage: isola deploy DIR --slug S .*\[--watch\] \[--json\]\n\nUpload/],
    [["deploy", "--help"], /^Usage: isola deploy DIR --slug S/],
    [["help", "servers"], /^Usage: isola servers <command>\n\n {2}isola servers ls/],
    [["help", "secrets", "set"], /^Usage: isola secrets set SLUG NAME[\s\S]*printf/],
    [["start", "--help"], /^Usage: isola start\n/],
  ])("isola %j prints help and exits 0", async (args, expected) => {
    // A bad server variable proves that help never reads the server configuration.
    const result = await isola(args, { env: { ...env, PORT: "abc" } });
    expect(result.stdout).toMatch(expected);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

describe("refusals before or without an API answer: exit 1, one line, no stack", () => {
  it("says to log in when there are no credentials, without reading the server configuration", async () => {
    const result = await isola(["servers", "ls"], { env: { ...env, PORT: "abc", DATABASE_URL: "nope" } });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "isola: not logged in: run `isola login --url URL --token TOKEN` (or set ISOLA_URL and ISOLA_TOKEN)\n",
    );
  });

  it("says when the instance cannot be reached", async () => {
    const result = await isola(["versions", "ls", "hello"], { env: unreachable });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`isola: cannot reach Isola at ${closedUrl} (ECONNREFUSED); is it running?\n`);
  });

  it("refuses an empty stdin for a secret's value, naming how to pipe it", async () => {
    const result = await isola(["secrets", "set", "hello", "API_KEY"], { env: unreachable, input: "" });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `isola: no value for API_KEY on stdin: pipe it in, e.g. printf '%s' "$API_KEY" | isola secrets set hello API_KEY\n`,
    );
  });

  it("refuses a deploy of a directory without .ts files before sending anything", async () => {
    const result = await isola(["deploy", "docs", "--slug", "hello"], { env: unreachable });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("isola: docs holds no .ts files\n");
  });

  it("checks a new slug with the API's rule", async () => {
    const result = await isola(["deploy", "examples/hello", "--slug", "api"], { env: unreachable });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('isola: "api" cannot be a slug: this word is reserved\n');
  });
});
