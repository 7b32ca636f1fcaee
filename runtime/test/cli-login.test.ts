import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type Instance, isola, startInstance } from "./support/cli.ts";

let instance: Instance;
let configHome: string;
beforeAll(async () => {
  instance = await startInstance();
});
afterAll(async () => {
  await instance?.stop();
});
beforeEach(() => {
  configHome = mkdtempSync(join(tmpdir(), "isola-cli-login-"));
  return () => rmSync(configHome, { recursive: true, force: true });
});

// Only XDG_CONFIG_HOME: no ISOLA_URL / ISOLA_TOKEN, so commands must use what login saved.
const env = () => ({ XDG_CONFIG_HOME: configHome });
const credentialsFile = () => join(configHome, "isola", "credentials.json");

describe("isola login", () => {
  it("checks the token, saves it readable only by this user, and later commands use it", async () => {
    const login = await isola(["login", "--url", `${instance.url}/`, "--token", instance.token], { env: env() });
    expect(login.stderr).toBe("");
    expect(login.status).toBe(0);
    expect(login.stdout).toMatch(
      new RegExp(`^Logged in to ${instance.url} as owner@example\\.com, in [a-z0-9-]+ \\(owner\\)\\.\\nSaved to `),
    );
    expect(JSON.parse(readFileSync(credentialsFile(), "utf8"))).toEqual({ url: instance.url, token: instance.token });
    expect(statSync(credentialsFile()).mode & 0o777).toBe(0o600);
    expect(statSync(join(configHome, "isola")).mode & 0o777).toBe(0o700);

    const listed = await isola(["servers", "ls"], { env: env() });
    expect(listed).toMatchObject({ status: 0, stderr: "" });
    expect(listed.stdout).toBe("No servers yet. Deploy one with: isola deploy ./dir --slug SLUG\n");
  });

  it("reads the token from stdin with --token -", async () => {
    const login = await isola(["login", "--url", instance.url, "--token", "-", "--json"], {
      env: env(),
      input: `${instance.token}\n`,
    });
    expect(login.status).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({ user: { email: "owner@example.com" } });
    expect(JSON.parse(readFileSync(credentialsFile(), "utf8")).token).toBe(instance.token);
  });

  it("refuses a wrong token with the API's message, exit 1, and saves nothing", async () => {
    const login = await isola(["login", "--url", instance.url, "--token", "isola_pat_not-a-token-anyone-made"], {
      env: env(),
    });
    expect(login.status).toBe(1);
    expect(login.stdout).toBe("");
    expect(login.stderr).toBe("isola: the token is unknown, revoked or expired\n");
    expect(existsSync(credentialsFile())).toBe(false);
  });

  it("lets ISOLA_URL and ISOLA_TOKEN override the saved credentials", async () => {
    expect((await isola(["login", "--url", instance.url, "--token", instance.token], { env: env() })).status).toBe(0);
    const overridden = await isola(["servers", "ls"], {
      env: { ...env(), ISOLA_TOKEN: "isola_pat_not-a-token-anyone-made" },
    });
    expect(overridden.status).toBe(1);
    expect(overridden.stderr).toBe("isola: the token is unknown, revoked or expired\n");
  });

  it("says so when the saved file is not credentials", async () => {
    const login = await isola(["login", "--url", instance.url, "--token", instance.token], { env: env() });
    expect(login.status).toBe(0);
    writeFileSync(credentialsFile(), "{ not json");
    const result = await isola(["servers", "ls"], { env: env() });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^isola: cannot read .*credentials\.json \(.*\): run `isola login --url URL --token TOKEN`/,
    );
  });
});
