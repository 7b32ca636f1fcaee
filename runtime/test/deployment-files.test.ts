import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, matchesGlob } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CONFIG_VARIABLES, type Config, parseConfig, ROLES } from "@isola/schema";
import Fastify, { type FastifyInstance } from "fastify";
import { parse as parseToml } from "smol-toml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { healthRoutes } from "../src/http/health.ts";
import { type OpenDatabase, openDatabase } from "../src/stores/database.ts";
import { MemoryBus } from "../src/stores/memory-bus.ts";

// The self-hosting files (Dockerfile, .dockerignore, docker-compose.yml, fly.toml) are
// not run by any other test: these check them against the code they start, so that a
// renamed variable, a moved entry point or a changed port shows up here.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

const rootPackage = JSON.parse(read("package.json")) as {
  scripts: Record<string, string>;
  isolaToolchain: { pnpm: string };
};
/** `node --no-node-snapshot runtime/src/main.ts`: how the repository runs Isola. */
const ISOLA_COMMAND = rootPackage.scripts.isola ?? "";
const workspace = parseYaml(read("pnpm-workspace.yaml")) as { packages: string[] };

const isIsolaVariable = (name: string) => (CONFIG_VARIABLES as readonly string[]).includes(name);
/** Variables a deployment file may set that are not Isola's own. */
const OTHER_VARIABLES = new Set(["NODE_ENV"]);
const SECRET_VARIABLES = ["DATABASE_URL", "REDIS_URL", "ISOLA_SECRET_KEY"];

function parsedConfig(env: Record<string, string>): Config {
  const result = parseConfig(env, "/app");
  if (!result.ok) throw new Error(`invalid configuration: ${result.errors.join("; ")}`);
  return result.config;
}

// ---- a small Dockerfile parser: comments, line continuations, stages ----

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    // Comment lines (also the parser directive) are dropped, even inside a continuation.
    if (/^\s*#/.test(line)) continue;
    if (pending && line.trim() === "") continue;
    const trimmed = line.trimEnd();
    if (trimmed.endsWith("\\")) {
      pending += `${trimmed.slice(0, -1)} `;
      continue;
    }
    const full = `${pending}${trimmed}`.trim();
    pending = "";
    if (!full) continue;
    const match = /^(\S+)\s*(.*)$/s.exec(full);
    if (match?.[1]) instructions.push({ keyword: match[1].toUpperCase(), args: match[2] ?? "" });
  }
  if (pending.trim()) throw new Error("the Dockerfile ends inside a line continuation");

  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const [image = "", as, name] = words(instruction.args).filter((word) => !word.startsWith("--"));
      stages.push({ image, name: as?.toUpperCase() === "AS" ? name : undefined, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`${instruction.keyword} before the first FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** Splits on whitespace, keeping double-quoted parts together and unquoting them. */
function words(args: string): string[] {
  return (args.match(/(?:[^\s"]+|"[^"]*")+/g) ?? []).map((word) => word.replaceAll('"', ""));
}

function execForm(args: string): string[] {
  const value: unknown = JSON.parse(args);
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return value;
}

const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
/** The last one wins for CMD, USER, EXPOSE, HEALTHCHECK, STOPSIGNAL and WORKDIR. */
function last(stage: Stage, keyword: string): string {
  const instruction = all(stage, keyword).at(-1);
  if (!instruction) throw new Error(`the stage has no ${keyword}`);
  return instruction.args;
}

function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of all(stage, "ENV")) {
    const parts = words(args);
    if (parts[0] && !parts[0].includes("=")) {
      env[parts[0]] = parts.slice(1).join(" "); // legacy `ENV KEY value`
      continue;
    }
    for (const part of parts) {
      const eq = part.indexOf("=");
      env[part.slice(0, eq)] = part.slice(eq + 1);
    }
  }
  return env;
}

/** COPY's sources and destination, flags left out. */
function copyArgs(args: string): { flags: string[]; sources: string[]; dest: string } {
  const parts = words(args);
  const flags = parts.filter((part) => part.startsWith("--"));
  const paths = parts.filter((part) => !part.startsWith("--"));
  return { flags, sources: paths.slice(0, -1), dest: paths.at(-1) ?? "" };
}

const stages = parseDockerfile(read("Dockerfile"));
const finalStage = stages.at(-1) as Stage;
const buildStage = stages.find((stage) => stage.name === "build");
const dockerEnv = stageEnv(finalStage);
const exposedPort = Number(words(last(finalStage, "EXPOSE"))[0]?.split("/")[0]);

// ---- health routes served by a real database and bus, shared by the HEALTHCHECK test ----

let dataDir: string;
let database: OpenDatabase;
let bus: MemoryBus;
let app: FastifyInstance;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "isola-deployment-"));
  database = await openDatabase({ databaseUrl: undefined, dataDir });
  bus = new MemoryBus();
  app = Fastify();
  await app.register(healthRoutes, { stores: { db: database.db, dbKind: database.kind, bus } });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await bus?.close();
  await database?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("the health paths the deployment files probe", () => {
  it("GET /healthz answers 200 {status: ok}", async () => {
    const response = await app.inject({ method: "GET", url: "/healthz" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "ok" });
  });

  it("GET /readyz answers 200 ready when the database and the bus answer", async () => {
    const response = await app.inject({ method: "GET", url: "/readyz" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: "ready", checks: { database: { ok: true }, bus: { ok: true } } });
  });
});

describe("Dockerfile", () => {
  it("has a build stage and a separate final stage", () => {
    expect(buildStage).toBeDefined();
    expect(finalStage).not.toBe(buildStage);
    expect(stages.length).toBeGreaterThanOrEqual(2);
  });

  it("bases every stage on the Node major in .node-version", () => {
    const major = read(".node-version").trim().split(".")[0];
    for (const stage of stages) {
      expect(stage.image).toMatch(/^node:\d+-/);
      expect(stage.image.split(":")[1]?.split("-")[0]).toBe(major);
    }
  });

  it("starts with the root package.json isola command plus `start`, in exec form", () => {
    const cmd = execForm(last(finalStage, "CMD"));
    expect(cmd).toEqual([...ISOLA_COMMAND.split(" "), "start"]);
    const entry = cmd.find((arg) => arg.endsWith(".ts"));
    expect(entry && existsSync(join(ROOT, entry))).toBe(true);
  });

  it("runs from the copied repository root, so the CMD's relative entry point resolves", () => {
    const workdir = last(finalStage, "WORKDIR");
    const fromBuild = all(finalStage, "COPY")
      .map(({ args }) => copyArgs(args))
      .find(({ flags }) => flags.includes("--from=build"));
    expect(fromBuild?.dest.replace(/\/$/, "")).toBe(workdir);
    expect(fromBuild?.sources).toEqual([last(buildStage as Stage, "WORKDIR")]);
    expect(all(buildStage as Stage, "COPY").some(({ args }) => copyArgs(args).sources.includes("."))).toBe(true);
  });

  it("installs the pinned pnpm and production dependencies from the frozen lockfile, without pnpm deploy", () => {
    const runs = all(buildStage as Stage, "RUN").map(({ args }) => args);
    expect(runs.some((run) => run.includes(`pnpm@${rootPackage.isolaToolchain.pnpm}`))).toBe(true);
    const install = runs.find((run) => /\bpnpm install\b/.test(run));
    expect(install).toContain("--frozen-lockfile");
    expect(install).toContain("--prod");
    expect(runs.join("\n")).not.toMatch(/\bpnpm deploy\b/);
  });

  it("copies the lockfile and every workspace manifest before installing", () => {
    const build = buildStage as Stage;
    const installAt = build.instructions.findIndex((i) => i.keyword === "RUN" && /\bpnpm install\b/.test(i.args));
    expect(installAt).toBeGreaterThan(0);
    const copiedBefore = build.instructions
      .slice(0, installAt)
      .filter((i) => i.keyword === "COPY")
      .flatMap(({ args }) => copyArgs(args).sources);
    const manifests = workspace.packages.map((pkg) => `${pkg}/package.json`);
    for (const manifest of manifests) expect(existsSync(join(ROOT, manifest)), manifest).toBe(true);
    expect(copiedBefore).toEqual(
      expect.arrayContaining(["package.json", "pnpm-lock.yaml", "pnpm-workspace.yaml", ...manifests]),
    );
  });

  it("sets only known variables, and the Isola ones parse, listening on all interfaces", () => {
    const unknown = Object.keys(dockerEnv).filter((name) => !isIsolaVariable(name) && !OTHER_VARIABLES.has(name));
    expect(unknown).toEqual([]);
    expect(dockerEnv.NODE_ENV).toBe("production");
    const config = parsedConfig(dockerEnv);
    expect(config.host).toBe("0.0.0.0");
    expect(config.port).toBe(exposedPort);
  });

  it("runs as a non-root user that owns only the data directory, declared as a volume", () => {
    const user = last(finalStage, "USER").split(":")[0] ?? "";
    expect(user).not.toMatch(/^(root|0)$/);
    const dataDir = dockerEnv.ISOLA_DATA_DIR ?? "";
    expect(dataDir).toMatch(/^\//);
    const volumes = all(finalStage, "VOLUME").flatMap(({ args }) =>
      args.startsWith("[") ? execForm(args) : words(args),
    );
    expect(volumes).toContain(dataDir);
    const runs = all(finalStage, "RUN").map(({ args }) => args);
    expect(runs.some((run) => new RegExp(`chown\\s+${user}(:\\S+)?\\s+${dataDir}(\\s|$)`).test(run))).toBe(true);
    // The code stays root's: nothing copied into the final stage is handed to the app user.
    for (const { args } of all(finalStage, "COPY")) expect(copyArgs(args).flags.join(" ")).not.toMatch(/--chown/);
  });

  it("ships the web build made in its own stage, and no build tools: a node never makes one at start", () => {
    const webStage = stages.find((stage) => stage.name === "web");
    expect(all(webStage as Stage, "RUN").some(({ args }) => /pnpm --filter @isola\/web build/.test(args))).toBe(true);
    const copied = all(finalStage, "COPY")
      .map(({ args }) => copyArgs(args))
      .find(({ flags }) => flags.includes("--from=web"));
    expect(copied).toMatchObject({ sources: ["/app/web/build"], dest: "/app/web/build" });
    // web/server/app-build.ts builds only when @react-router/dev resolves; `--prod` leaves it out.
    const web = JSON.parse(read("web/package.json")) as Record<string, Record<string, string> | undefined>;
    expect(web.devDependencies?.["@react-router/dev"]).toBeDefined();
    expect(web.dependencies?.["@react-router/dev"]).toBeUndefined();
    expect(read("web/server/app-build.ts")).toContain('resolve("@react-router/dev/package.json")');
  });

  it("stops with a signal the process drains on", () => {
    const signal = last(finalStage, "STOPSIGNAL");
    expect(read("runtime/src/process/shutdown.ts")).toContain(`process.on("${signal}"`);
  });

  it("HEALTHCHECK probes /healthz on $PORT: exits 0 while Isola serves, 1 when nothing listens", async () => {
    const match = /^((?:--\S+\s+)*)CMD\s+(.+)$/s.exec(last(finalStage, "HEALTHCHECK"));
    const command = execForm(match?.[2] ?? "");
    expect(command[0]).toBe("node");
    expect(command.join(" ")).toContain("/healthz");
    // Asynchronously: the server answering the probe runs in this process.
    const probe = (port: number) =>
      promisify(execFile)(process.execPath, command.slice(1), { env: { PORT: String(port) }, timeout: 10_000 }).then(
        () => 0,
        (error: { code?: unknown }) => error.code,
      );

    const server = Fastify();
    await server.register(healthRoutes, { stores: { db: database.db, dbKind: database.kind, bus } });
    await server.listen({ host: "127.0.0.1", port: 0 });
    const address = server.server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      expect(await probe(port)).toBe(0);
    } finally {
      await server.close();
    }
    expect(await probe(port)).toBe(1);
  });
});

describe(".dockerignore", () => {
  const patterns = read(".dockerignore")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  // Docker's matching is close to path.matchesGlob for these patterns (no negations are used).
  const ignored = (path: string) => patterns.some((pattern) => matchesGlob(path, pattern));

  it("has no negations, so the plain glob match below is Docker's answer", () => {
    expect(patterns.filter((pattern) => pattern.startsWith("!"))).toEqual([]);
  });

  it("keeps every node_modules (root and per package), local data, git history and .env out of the image", () => {
    const packages = workspace.packages;
    for (const path of [
      "node_modules",
      ...packages.map((pkg) => `${pkg}/node_modules`),
      ...packages.map((pkg) => `${pkg}/dist`),
      ".isola",
      ".git",
      ".env",
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it("keeps the manifests, the lockfile and the sources the image runs", () => {
    const cmdEntry = execForm(last(finalStage, "CMD")).find((arg) => arg.endsWith(".ts")) ?? "";
    for (const path of [
      "package.json",
      "pnpm-lock.yaml",
      "pnpm-workspace.yaml",
      ...workspace.packages.map((pkg) => `${pkg}/package.json`),
      cmdEntry,
      "schema/src/config.ts",
    ]) {
      expect(ignored(path), path).toBe(false);
    }
  });
});

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  restart?: string;
  read_only?: boolean;
  ports?: (string | number)[];
  environment?: Record<string, string | number> | string[];
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
}
// Compose applies YAML merge keys (`<<: *isola`), as this parse does.
const compose = parseYaml(read("docker-compose.yml"), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};

function serviceEnv(service: ComposeService | undefined): Record<string, string> {
  const environment = service?.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(environment.map((entry) => [entry.split("=")[0], entry.split("=").slice(1).join("=")]));
  }
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, String(value)]));
}

/** Compose's interpolation for ${NAME}, ${NAME:-default} and ${NAME:?error}, from the given host environment. */
function interpolate(value: string, host: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_all, name: string, op, rest) => {
    const set = host[name];
    if (set !== undefined && set !== "") return set;
    if (op === "-") return rest;
    throw new Error(`compose refuses to start: ${name}: ${rest ?? "not set"}`);
  });
}

const services = Object.entries(compose.services);
/** The services made from this repository's image: the nodes run its CMD (start), `migrate` its own command. */
const isolaServices = services.filter(([, service]) => service.build === ".");
const nodes = isolaServices.filter(([, service]) => service.command === undefined);
const nodeNames = nodes.map(([name]) => name);
const migrateService = isolaServices.find(([, service]) => service.command !== undefined);
const serviceWithImage = (name: string) => services.find(([, service]) => service.image?.split(":")[0] === name);
const [, proxy] = serviceWithImage("caddy") ?? [];

/** What a container sees: the image's ENV, overridden by compose's environment, interpolated from `host`. */
function resolvedEnv(service: ComposeService | undefined, host: Record<string, string>): Record<string, string> {
  const env = Object.entries(serviceEnv(service)).map(([key, value]) => [key, interpolate(value, host)]);
  return Object.fromEntries(env);
}

describe("docker-compose.yml", () => {
  const secretKey = randomBytes(32).toString("base64");
  const host = { ISOLA_SECRET_KEY: secretKey };
  const nodeEnv = resolvedEnv(nodes[0]?.[1], host);
  const nodeConfig = () => parsedConfig({ ...dockerEnv, ...nodeEnv });

  it("builds every Isola service (nodes and migrate) as one image from this repository's Dockerfile", () => {
    expect(isolaServices.length).toBe(3);
    expect(new Set(isolaServices.map(([, service]) => service.image)).size).toBe(1);
  });

  it("runs two nodes, identical but for their own data volume", () => {
    expect(nodes).toHaveLength(2);
    const [first, second] = nodes.map(([, { volumes: _own, ...rest }]) => rest);
    expect(second).toEqual(first);
    expect(nodes[0]?.[1].volumes).not.toEqual(nodes[1]?.[1].volumes);
  });

  it("gives the nodes only variables Isola reads; they parse with the image's and the nodes do not migrate", () => {
    for (const [name, service] of isolaServices) {
      expect(
        Object.keys(serviceEnv(service)).filter((key) => !isIsolaVariable(key)),
        name,
      ).toEqual([]);
    }
    const config = nodeConfig();
    expect(config.secretKey?.equals(Buffer.from(secretKey, "base64"))).toBe(true);
    expect(config.host).toBe("0.0.0.0");
    expect(config.migrateOnStart).toBe(false);
    expect(config.roles).toEqual([...ROLES]);
  });

  it("takes ISOLA_SECRET_KEY from the host and refuses to start without it", () => {
    const key = serviceEnv(nodes[0]?.[1]).ISOLA_SECRET_KEY ?? "";
    expect(key).toMatch(/^\$\{ISOLA_SECRET_KEY:\?[^}]+\}$/);
    expect(() => interpolate(key, {})).toThrow(/ISOLA_SECRET_KEY/);
  });

  it("points DATABASE_URL at the postgres service with the credentials that service creates", () => {
    const [name, postgres] = serviceWithImage("postgres") ?? [];
    const postgresEnv = serviceEnv(postgres);
    const url = new URL(nodeEnv.DATABASE_URL ?? "");
    expect(url.hostname).toBe(name);
    expect(decodeURIComponent(url.username)).toBe(postgresEnv.POSTGRES_USER);
    expect(decodeURIComponent(url.password)).toBe(postgresEnv.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${postgresEnv.POSTGRES_DB}`);
    expect(url.port === "" || url.port === "5432").toBe(true);
  });

  it("points REDIS_URL at the redis service", () => {
    const [name] = serviceWithImage("redis") ?? [];
    const url = new URL(nodeEnv.REDIS_URL ?? "");
    expect(url.hostname).toBe(name);
    expect(url.port === "" || url.port === "6379").toBe(true);
  });

  it("migrates once with the isola command plus `migrate`, with the nodes' environment, and is not restarted", () => {
    const [, migrate] = migrateService ?? [];
    expect(migrate?.command).toEqual([...ISOLA_COMMAND.split(" "), "migrate"]);
    expect(migrate?.restart).toBe("no");
    expect(resolvedEnv(migrate, host)).toEqual(nodeEnv);
    const dependsOn = migrate?.depends_on as Record<string, { condition?: string }>;
    expect(dependsOn[new URL(nodeEnv.DATABASE_URL ?? "").hostname]?.condition).toBe("service_healthy");
  });

  it("starts the nodes once migrate completed successfully and postgres and redis report healthy", () => {
    const stores = [nodeEnv.DATABASE_URL, nodeEnv.REDIS_URL].map((url) => new URL(url ?? "").hostname);
    for (const [name, node] of nodes) {
      const dependsOn = node.depends_on;
      expect(Array.isArray(dependsOn), name).toBe(false);
      const conditions = dependsOn as Record<string, { condition?: string }>;
      expect(conditions[migrateService?.[0] ?? ""]?.condition).toBe("service_completed_successfully");
      for (const store of stores) {
        expect(conditions[store]?.condition, store).toBe("service_healthy");
        expect(compose.services[store]?.healthcheck?.test, store).toBeTruthy();
      }
    }
  });

  it("runs the nodes on a read-only root with a named volume each at the data directory", () => {
    const dataDir = nodeConfig().dataDir;
    const declared = Object.keys(compose.volumes ?? {});
    const mounted = nodes.map(([name, node]) => {
      expect(node.read_only, name).toBe(true);
      const mount = (node.volumes ?? []).map((volume) => volume.split(":")).find(([, target]) => target === dataDir);
      expect(declared, name).toContain(mount?.[0]);
      return mount?.[0];
    });
    expect(new Set(mounted).size).toBe(nodes.length);
  });

  it("publishes only the proxy, on 80 and 443, with deploy/Caddyfile and the nodes' domains", () => {
    for (const [name, node] of nodes) expect(node.ports, name).toBeUndefined();
    expect(proxy?.ports?.map(String).sort()).toEqual(["443:443", "80:80"]);
    const caddyfile = (proxy?.volumes ?? [])
      .map((volume) => volume.split(":"))
      .find(([, target]) => target === "/etc/caddy/Caddyfile");
    expect(caddyfile?.[0]).toBe("./deploy/Caddyfile");
    expect(existsSync(join(ROOT, "deploy/Caddyfile"))).toBe(true);
    // The same answers, with the defaults and with a real domain.
    const choices: Record<string, string>[] = [
      {},
      { ISOLA_DOMAIN: "isola.example.com", ISOLA_MCP_DOMAIN: "mcp.example.com" },
    ];
    for (const domains of choices) {
      const proxyEnv = resolvedEnv(proxy, { ...host, ...domains });
      const config = parsedConfig({ ...dockerEnv, ...resolvedEnv(nodes[0]?.[1], { ...host, ...domains }) });
      expect(config.publicUrl).toBe(`https://${proxyEnv.ISOLA_DOMAIN}`);
      expect(config.mcpDomain).toBe(proxyEnv.ISOLA_MCP_DOMAIN);
    }
  });
});

// Caddy's own parser reads the Caddyfile (`caddy adapt`: Caddyfile to JSON, nothing started).
const CADDY = ["/usr/bin/caddy", "/usr/local/bin/caddy"].find((path) => existsSync(path));
describe("deploy/Caddyfile (caddy adapt)", () => {
  interface Route {
    match?: { host?: string[] }[];
    handle?: { handler: string; routes?: Route[]; [key: string]: unknown }[];
  }
  interface ReverseProxy {
    upstreams: { dial: string }[];
    flush_interval?: number;
    health_checks?: { active?: { uri?: string; expect_status?: number } };
  }
  const adapt = (domains: Record<string, string>) => {
    if (!CADDY)
      throw new Error(
        "caddy is missing: apt-get install -y caddy (npm test installs it when it can: scripts/ensure-test-tools.mjs)",
      );
    const env = resolvedEnv(proxy, { ISOLA_SECRET_KEY: "unused", ...domains });
    const output = promisify(execFile)(CADDY, ["adapt", "--config", "deploy/Caddyfile", "--adapter", "caddyfile"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: tmpdir(), ...env },
    });
    return output.then(({ stdout }) => ({
      env,
      json: JSON.parse(stdout) as {
        apps: {
          http: { servers: Record<string, { listen: string[]; routes: Route[] }> };
          tls?: { automation?: { policies?: { subjects?: string[]; issuers?: { module: string }[] }[] } };
        };
      },
    }));
  };
  const proxiesOf = (route: Route): ReverseProxy[] =>
    (route.handle ?? []).flatMap((handler) =>
      handler.handler === "reverse_proxy"
        ? [handler as unknown as ReverseProxy]
        : (handler.routes ?? []).flatMap((inner) => proxiesOf(inner)),
    );

  it.each([[{}], [{ ISOLA_DOMAIN: "isola.example.com", ISOLA_MCP_DOMAIN: "mcp.example.com" }]])(
    "routes the main host and *.ISOLA_MCP_DOMAIN to both nodes, checking /healthz (%j)",
    async (domains) => {
      const { env, json } = await adapt(domains);
      const port = parsedConfig({ ...dockerEnv, ...nodeEnvOf(domains) }).port;
      const routes = Object.values(json.apps.http.servers).flatMap((server) => server.routes);
      const hosts = routes.map((route) => route.match?.flatMap((match) => match.host ?? []) ?? []);
      expect(hosts).toEqual([[env.ISOLA_DOMAIN], [`*.${env.ISOLA_MCP_DOMAIN}`]]);
      for (const route of routes) {
        const [reverseProxy, ...others] = proxiesOf(route);
        expect(others).toEqual([]);
        expect(reverseProxy?.upstreams.map((upstream) => upstream.dial).sort()).toEqual(
          nodeNames.map((name) => `${name}:${port}`).sort(),
        );
        // Not /readyz: a shared store's outage would take every node out at once.
        expect(reverseProxy?.health_checks?.active).toMatchObject({ uri: "/healthz", expect_status: 200 });
        // Server-Sent Events (MCP answers, live logs) pass at once.
        expect(reverseProxy?.flush_interval).toBe(-1);
      }
      // Both names get certificates from Caddy's internal CA.
      const policies = json.apps.tls?.automation?.policies ?? [];
      expect(policies.flatMap((policy) => policy.subjects ?? []).sort()).toEqual(
        [env.ISOLA_DOMAIN, `*.${env.ISOLA_MCP_DOMAIN}`].sort(),
      );
      expect(policies.flatMap((policy) => policy.issuers?.map((issuer) => issuer.module) ?? [])).toEqual(["internal"]);
    },
  );

  function nodeEnvOf(domains: Record<string, string>): Record<string, string> {
    return resolvedEnv(nodes[0]?.[1], { ISOLA_SECRET_KEY: randomBytes(32).toString("base64"), ...domains });
  }
});

interface FlyCheck {
  method?: string;
  path?: string;
  interval?: string;
  timeout?: string;
  grace_period?: string;
}
const fly = parseToml(read("fly.toml")) as unknown as {
  app: string;
  kill_signal?: string;
  kill_timeout?: string;
  build: { dockerfile: string };
  env: Record<string, string>;
  processes: Record<string, string>;
  deploy: { release_command: string };
  http_service: {
    internal_port: number;
    processes: string[];
    force_https: boolean;
    min_machines_running: number;
    concurrency: { type: string; soft_limit: number; hard_limit: number };
    checks: FlyCheck[];
  };
  checks?: Record<string, FlyCheck & { type?: string; port?: number; processes?: string[] }>;
};

function durationMs(value: string | undefined): number {
  const match = /^(\d+)(ms|s|m)$/.exec(value ?? "");
  if (!match) throw new Error(`not a duration: ${value}`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as "ms" | "s" | "m"];
}

/** A process group's command: `env NAME=value ...` (Fly has no per-group environment), then the command. */
function flyProcess(command: string): { env: Record<string, string>; argv: string[] } {
  const parts = command.split(/\s+/);
  const env: Record<string, string> = {};
  if (parts[0] === "env") parts.shift();
  while (parts[0]?.includes("=")) {
    const [name = "", ...value] = (parts.shift() ?? "").split("=");
    env[name] = value.join("=");
  }
  return { env, argv: parts };
}

describe("fly.toml", () => {
  const groupConfig = (group: string) =>
    parsedConfig({ ...dockerEnv, ...fly.env, ...flyProcess(fly.processes[group] ?? "").env });

  it("builds the repository's Dockerfile", () => {
    expect(existsSync(join(ROOT, fly.build.dockerfile))).toBe(true);
    expect(fly.build.dockerfile).toBe("Dockerfile");
  });

  it("sets only Isola variables, no secrets, and they parse with the image's; machines do not migrate on start", () => {
    expect(Object.keys(fly.env).filter((name) => !isIsolaVariable(name))).toEqual([]);
    expect(Object.keys(fly.env).filter((name) => SECRET_VARIABLES.includes(name))).toEqual([]);
    const config = parsedConfig({ ...dockerEnv, ...fly.env });
    expect(config.host).toBe("0.0.0.0");
    expect(config.migrateOnStart).toBe(false);
    if (fly.http_service.force_https) expect(new URL(config.publicUrl).protocol).toBe("https:");
  });

  it("runs two process groups of the isola command plus `start`: app without builds, worker with only builds", () => {
    expect(Object.keys(fly.processes).sort()).toEqual(["app", "worker"]);
    for (const command of Object.values(fly.processes)) {
      const { env, argv } = flyProcess(command);
      expect(argv).toEqual([...ISOLA_COMMAND.split(" "), "start"]);
      expect(Object.keys(env).filter((name) => !isIsolaVariable(name))).toEqual([]);
    }
    const app = groupConfig("app").roles;
    const worker = groupConfig("worker").roles;
    expect(worker).toEqual(["worker"]);
    expect(app).not.toContain("worker");
    expect([...app, ...worker].sort()).toEqual([...ROLES].sort());
  });

  it("routes HTTP to the app group only, on the port Isola listens on, the one the Dockerfile exposes", () => {
    expect(fly.http_service.processes).toEqual(["app"]);
    const config = groupConfig("app");
    expect(fly.http_service.internal_port).toBe(Number(fly.env.PORT));
    expect(fly.http_service.internal_port).toBe(config.port);
    expect(fly.http_service.internal_port).toBe(exposedPort);
  });

  it("migrates in the release command with the isola command plus `migrate`", () => {
    expect(fly.deploy.release_command).toBe(`${ISOLA_COMMAND} migrate`);
  });

  it("routes on /healthz alone (never /readyz: a shared store's outage would stop every machine), with GET, timing out before its next run", () => {
    const checks = fly.http_service.checks;
    expect(checks.map((check) => check.path)).toEqual(["/healthz"]);
    for (const check of checks) {
      expect(check.method).toBe("GET");
      expect(durationMs(check.timeout)).toBeLessThan(durationMs(check.interval));
      expect(durationMs(check.grace_period)).toBeGreaterThan(0);
    }
  });

  it.each(["app", "worker"])("watches the %s group's /readyz at the port it listens on", (group) => {
    const checks = Object.values(fly.checks ?? {}).filter((check) => check.processes?.includes(group));
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ type: "http", method: "GET", path: "/readyz", port: groupConfig(group).port });
    expect(durationMs(checks[0]?.timeout)).toBeLessThan(durationMs(checks[0]?.interval));
  });

  it("keeps at least two machines and limits concurrency by requests", () => {
    expect(fly.http_service.min_machines_running).toBeGreaterThanOrEqual(2);
    const { type, soft_limit, hard_limit } = fly.http_service.concurrency;
    expect(type).toBe("requests");
    expect(soft_limit).toBeLessThanOrEqual(hard_limit);
  });

  it("sends a signal the process drains on and allows at least 10 s before killing it", () => {
    expect(read("runtime/src/process/shutdown.ts")).toContain(`process.on("${fly.kill_signal}"`);
    // The process drains for up to 9 s (runtime/src/process/shutdown.ts), as Docker's 10 s stop timeout allows.
    expect(durationMs(fly.kill_timeout)).toBeGreaterThanOrEqual(10_000);
  });
});
