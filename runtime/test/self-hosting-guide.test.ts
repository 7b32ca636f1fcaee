import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONFIG_VARIABLES } from "@isola/schema";
import { parse as parseToml } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { behindMessage } from "../src/stores/open-stores.ts";

// docs/SELF-HOSTING.md names variables, commands, files, services and measured figures: each
// must exist where the guide says, so that a rename in the code shows up here.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");
const guide = read("docs/SELF-HOSTING.md");
const compose = parseYaml(read("docker-compose.yml"), { merge: true }) as {
  services: Record<string, { environment?: Record<string, string> }>;
};
const fly = parseToml(read("fly.toml")) as { processes: Record<string, string> };
const ISOLA_COMMAND = (JSON.parse(read("package.json")) as { scripts: { isola: string } }).scripts.isola;

/** Variables the guide names that are not Isola's, each with where it is really read. */
const OTHER_VARIABLES: Record<string, () => boolean> = {
  // docker-compose.yml's own: the proxy's main host, which it also turns into PUBLIC_URL.
  ISOLA_DOMAIN: () => compose.services.proxy?.environment?.ISOLA_DOMAIN !== undefined,
  // A Unix convention, honoured by `isola start` for temporary files.
  TMPDIR: () => read("runtime/src/cli/instance.ts").includes("process.env.TMPDIR"),
};

describe("docs/SELF-HOSTING.md", () => {
  it("names only variables that exist: Isola's (CONFIG_VARIABLES) or the few others, where they are read", () => {
    const named = new Set([...guide.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)(?:=[^`]*)?`/g)].map(([, name]) => name));
    const words = [...named].filter((name) => name && (name.includes("_") || name in OTHER_VARIABLES));
    expect(words.length).toBeGreaterThan(10);
    const unknown = words.filter(
      (name) => !(CONFIG_VARIABLES as readonly string[]).includes(name ?? "") && !OTHER_VARIABLES[name ?? ""]?.(),
    );
    expect(unknown).toEqual([]);
    // Also inline in sentences, e.g. `ISOLA_ROLES=worker`.
    expect(named.has("ISOLA_MIGRATE_ON_START")).toBe(true);
  });

  it("names only the isola commands and flags that exist", () => {
    const commands = new Set([...guide.matchAll(/`isola ([a-z-]+)/g)].map(([, command]) => command));
    expect([...commands].sort()).toEqual(["migrate", "rotate-oauth-key", "rotate-secret-key"]);
    const main = read("runtime/src/main.ts");
    for (const command of commands) expect(main, command).toContain(`"${command}"`);
    expect(read("runtime/src/cli/rotate-secret-key.ts")).toContain('generate: { type: "boolean" }');
    expect(read("runtime/src/cli/rotate-oauth-key.ts")).toContain('"activate-in": { type: "string" }');
    expect(guide).toContain(`\`${ISOLA_COMMAND} migrate\``);
  });

  it("quotes the refusal of a node behind the schema as the code words it", () => {
    const quoted = /`cannot start: (the database schema is behind this release: )N( migration\(s\) pending)/.exec(
      guide,
    );
    expect(quoted).not.toBeNull();
    expect(behindMessage(["0099_x"])).toContain(`${quoted?.[1]}1${quoted?.[2]}`);
  });

  it("links to files that exist, and the README's configuration section", () => {
    const links = [...guide.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)].map(([, path, anchor]) => ({ path, anchor }));
    expect(links.length).toBeGreaterThan(0);
    for (const { path, anchor } of links) {
      const target = join(ROOT, "docs", path ?? "");
      expect(existsSync(target), path).toBe(true);
      if (anchor === "#configuration") expect(readFileSync(target, "utf8")).toContain("\n## Configuration\n");
    }
    for (const [, path] of guide.matchAll(/`((?:deploy|runtime|docs|schema)\/[\w./-]+)`/g)) {
      expect(existsSync(join(ROOT, path ?? "")), path).toBe(true);
    }
    expect(existsSync(join(dirname(join(ROOT, "docs/SELF-HOSTING.md")), "BENCHMARKS.md"))).toBe(true);
  });

  it("names the compose services and Fly process groups that exist", () => {
    for (const service of ["migrate", "isola-1", "isola-2"]) {
      expect(guide).toContain(service);
      expect(compose.services[service], service).toBeDefined();
    }
    const scale = /`fly scale count ([^`]+)`/.exec(guide)?.[1] ?? "";
    const groups = scale.split(" ").map((part) => part.split("=")[0]);
    expect(groups.sort()).toEqual(Object.keys(fly.processes).sort());
  });

  it("cites measured figures that docs/BENCHMARKS.md records", () => {
    const benchmarks = read("docs/BENCHMARKS.md");
    const figures = [
      "5,352",
      "3,019-4,643",
      "5.1 ms",
      "24.5 ms",
      "725 MiB",
      "735-758 MiB",
      "9.9-11.6 ms",
      "12.7-16.5 ms",
      "240-290 ms",
    ];
    for (const figure of figures) {
      expect(guide, figure).toContain(figure);
      expect(benchmarks, figure).toContain(figure);
    }
    // The empty shard's size comes from the sandbox's own memory model.
    expect(read("sandbox/src/host/shard-memory.ts")).toContain("~106 MiB");
    expect(guide).toContain("~106 MiB");
  });
});
