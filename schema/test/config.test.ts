import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, parseConfig } from "../src/config.ts";

const KEY_HEX = "ab".repeat(32);
const KEY_BASE64 = Buffer.alloc(32, 7).toString("base64");

describe("parseConfig defaults", () => {
  it("gives every documented default for an empty environment", () => {
    const result = parseConfig({}, "/srv/isola");
    expect(result).toEqual({
      ok: true,
      config: {
        port: 3000,
        host: "127.0.0.1",
        publicUrl: "http://localhost:3000",
        dataDir: "/srv/isola/.isola",
        databaseUrl: undefined,
        redisUrl: undefined,
        migrateOnStart: true,
        roles: ["runtime", "control", "web", "worker"],
        secretKey: undefined,
        logLevel: "info",
        plansFile: undefined,
        egressAllowPrivate: false,
        oauthCimdAllowLoopback: false,
        buildModels: { plan: "claude-sonnet-5-5", code: "claude-opus-5-5" },
        llmModel: "claude-haiku-5-5",
      },
    });
  });

  it("treats an empty variable as unset", () => {
    const result = parseConfig({ PORT: "", DATABASE_URL: "", ISOLA_ROLES: "", ISOLA_PLANS_FILE: "" }, "/x");
    expect(result.ok && result.config.port).toBe(3000);
    expect(result.ok && result.config.databaseUrl).toBeUndefined();
    expect(result.ok && result.config.roles).toEqual(["runtime", "control", "web", "worker"]);
    expect(result.ok && result.config.plansFile).toBeUndefined();
  });

  it("lists exactly the variables the README's configuration table documents", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const table = readme.slice(
      readme.indexOf("## Configuration"),
      readme.indexOf("\n## ", readme.indexOf("## Configuration") + 5),
    );
    const documented = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map(([, name]) => name);
    expect(documented).toEqual(CONFIG_VARIABLES);
  });
});

describe("parseConfig accepts", () => {
  it.each([
    [{ PORT: "0" }, { port: 0, publicUrl: "http://localhost:0" }],
    [{ PORT: "65535" }, { port: 65535 }],
    [{ HOST: "0.0.0.0" }, { host: "0.0.0.0" }],
    [{ HOST: "::" }, { host: "::" }],
    [{ PUBLIC_URL: "https://mcp.example.com/" }, { publicUrl: "https://mcp.example.com" }],
    [{ ISOLA_DATA_DIR: "/var/lib/isola" }, { dataDir: "/var/lib/isola" }],
    [{ ISOLA_DATA_DIR: "data" }, { dataDir: "/base/data" }],
    [{ DATABASE_URL: "postgres://u:p@db:5432/isola" }, { databaseUrl: "postgres://u:p@db:5432/isola" }],
    [
      { DATABASE_URL: "postgresql://db/isola?sslmode=require" },
      { databaseUrl: "postgresql://db/isola?sslmode=require" },
    ],
    [{ REDIS_URL: "rediss://:secret@cache:6380/2" }, { redisUrl: "rediss://:secret@cache:6380/2" }],
    [{ ISOLA_MIGRATE_ON_START: "false" }, { migrateOnStart: false }],
    [{ ISOLA_MIGRATE_ON_START: "true" }, { migrateOnStart: true }],
    [{ ISOLA_ROLES: "runtime" }, { roles: ["runtime"] }],
    [{ ISOLA_ROLES: " worker , control,worker" }, { roles: ["worker", "control"] }],
    [{ ISOLA_SECRET_KEY: KEY_HEX }, { secretKey: Buffer.from(KEY_HEX, "hex") }],
    [{ ISOLA_SECRET_KEY: KEY_BASE64 }, { secretKey: Buffer.alloc(32, 7) }],
    [{ LOG_LEVEL: "debug" }, { logLevel: "debug" }],
    [{ ISOLA_PLANS_FILE: "plans.json" }, { plansFile: "/base/plans.json" }],
    [{ ISOLA_PLANS_FILE: "/etc/isola/plans.json" }, { plansFile: "/etc/isola/plans.json" }],
    [{ ISOLA_MCP_DOMAIN: "MCP.Example.com" }, { mcpDomain: "mcp.example.com" }],
    [{ ISOLA_EGRESS_ALLOW_PRIVATE: "true" }, { egressAllowPrivate: true }],
    [{ ISOLA_OAUTH_CLIENTS_FILE: "clients.json" }, { oauthClientsFile: "/base/clients.json" }],
    [{ ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK: "true" }, { oauthCimdAllowLoopback: true }],
    [{ ISOLA_CONTROL_URL: "http://control.internal:3000/" }, { controlUrl: "http://control.internal:3000" }],
    [{ ISOLA_METRICS_TOKEN: "f".repeat(64) }, { metricsToken: "f".repeat(64) }],
  ])("%j", (env, expected) => {
    const result = parseConfig(env, "/base");
    expect(result.ok).toBe(true);
    expect(result.ok && result.config).toMatchObject(expected);
  });
});

describe("parseConfig refuses, naming the variable and what it expects", () => {
  it.each([
    ["PORT", "abc", /^PORT: expected an integer from 0 to 65535, got "abc"$/],
    ["PORT", "70000", /^PORT: expected an integer from 0 to 65535, got "70000"$/],
    ["PORT", "-1", /^PORT: expected an integer/],
    ["PORT", "3000.5", /^PORT: expected an integer/],
    ["HOST", "my host", /^HOST: expected a hostname or IP address/],
    ["PUBLIC_URL", "localhost:3000", /^PUBLIC_URL: expected an http\(s\) URL/],
    ["PUBLIC_URL", "ftp://example.com", /^PUBLIC_URL: expected an http\(s\) URL/],
    ["PUBLIC_URL", "https://example.com/?a=1", /^PUBLIC_URL: expected an http\(s\) URL without query/],
    ["DATABASE_URL", "not a url", /^DATABASE_URL: expected a postgres:\/\/ or postgresql:\/\/ URL/],
    ["DATABASE_URL", "mysql://root:hunter2@db/isola", /^DATABASE_URL: expected a postgres:\/\//],
    ["REDIS_URL", "http://cache:6379", /^REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/],
    ["ISOLA_MIGRATE_ON_START", "no", /^ISOLA_MIGRATE_ON_START: expected true or false, got "no"$/],
    [
      "ISOLA_ROLES",
      "runtime,gpu",
      /^ISOLA_ROLES: expected a comma-separated list of runtime, control, web, worker; unknown: "gpu"$/,
    ],
    ["ISOLA_ROLES", ",", /^ISOLA_ROLES: .*unknown: ""/],
    ["ISOLA_SECRET_KEY", "tooshort", /^ISOLA_SECRET_KEY: expected 32 random bytes as base64 or hex/],
    ["ISOLA_SECRET_KEY", "zz".repeat(32), /^ISOLA_SECRET_KEY: expected 32 random bytes/],
    ["LOG_LEVEL", "loud", /^LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"$/],
    ["ISOLA_MCP_DOMAIN", "https://mcp.example.com", /^ISOLA_MCP_DOMAIN: expected a domain name/],
    ["ISOLA_EGRESS_ALLOW_PRIVATE", "yes", /^ISOLA_EGRESS_ALLOW_PRIVATE: expected true or false, got "yes"$/],
    ["ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK", "1", /^ISOLA_OAUTH_CIMD_ALLOW_LOOPBACK: expected true or false, got "1"$/],
    ["ISOLA_CONTROL_URL", "control:3000", /^ISOLA_CONTROL_URL: expected an http\(s\) URL/],
    ["ISOLA_TRUST_PROXY", "true", /^ISOLA_TRUST_PROXY: expected a comma-separated list of the proxies' addresses/],
    ["ISOLA_TRUST_PROXY", "10.0.0.0/8,*", /^ISOLA_TRUST_PROXY: .*not an address or range: "\*"$/],
    ["ISOLA_METRICS_TOKEN", "short", /^ISOLA_METRICS_TOKEN: expected at least 32 printable characters/],
    ["ISOLA_METRICS_TOKEN", `${"a".repeat(20)} ${"b".repeat(20)}`, /^ISOLA_METRICS_TOKEN: expected at least 32/],
  ])("%s=%s", (name, value, message) => {
    const result = parseConfig({ [name]: value });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(message);
  });

  it.each([
    ["DATABASE_URL", "mysql://root:hunter2@db/isola"],
    ["REDIS_URL", "memcached://:hunter2@cache"],
    ["ISOLA_SECRET_KEY", "hunter2"],
    ["ISOLA_METRICS_TOKEN", "hunter2"],
  ])("never echoes the value of %s, which may hold a secret", (name, value) => {
    const result = parseConfig({ [name]: value });
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain("hunter2");
  });

  it("reports every bad variable, one line each", () => {
    const result = parseConfig({ PORT: "x", LOG_LEVEL: "y" });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.split(":")[0])).toEqual(["PORT", "LOG_LEVEL"]);
  });
});
