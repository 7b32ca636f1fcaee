import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";

// The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in the root
// package.json), run against examples/everything deployed on the embedded stack.
const CONFORMANCE = fileURLToPath(
  new URL("../../../node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url),
);
const EVERYTHING = readFileSync(new URL("../../../examples/everything/index.ts", import.meta.url), "utf8");

interface Check {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "SKIPPED" | "INFO";
  errorMessage?: string;
}

describe("the official MCP conformance suite", () => {
  let api: Api;
  let output: string;
  beforeAll(async () => {
    api = await startApi(undefined, {}, { listen: true });
    await api.admin.post("servers", { slug: "everything", name: "Everything", authMode: "public" });
    const version = await api.admin.post("servers/everything/versions", { source: EVERYTHING });
    expect(version.status).toBe(201);
    expect((await api.admin.post("servers/everything/deploy", { version: version.body.number })).status).toBe(200);
    output = mkdtempSync(join(tmpdir(), "isola-conformance-"));
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    if (output) rmSync(output, { recursive: true, force: true });
  });

  it("passes every active server scenario", async () => {
    // Asynchronously: the server under test runs in this process. A localhost URL: the
    // DNS-rebinding scenario only passes against one.
    const child = spawn(process.execPath, [
      CONFORMANCE,
      "server",
      "--url",
      `${api.url}/everything/mcp`,
      "--output-dir",
      output,
    ]);
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const status = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const run = { stdout, status };
    const scenarios = readdirSync(output);
    const checks = scenarios.flatMap((dir) =>
      (JSON.parse(readFileSync(join(output, dir, "checks.json"), "utf8")) as Check[]).map((check) => ({
        ...check,
        scenario: dir,
      })),
    );
    const problems = checks.filter((check) => check.status === "FAILURE" || check.status === "WARNING");
    expect(problems, run.stdout.slice(-3000)).toEqual([]);
    // The 31 active scenarios of conformance 0.2.0-alpha.12, each with at least one passing check.
    expect(scenarios).toHaveLength(31);
    expect(checks.filter((check) => check.status === "SUCCESS").length).toBeGreaterThanOrEqual(39);
    expect(run.status).toBe(0);
  }, 300_000);
});
