import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { deploySource, EVERYTHING_SOURCE, quickDatabase } from "../support/mcp.ts";

// The MCP Inspector's CLI (@modelcontextprotocol/inspector-cli, pinned in the root package.json)
// against examples/everything over Streamable HTTP: a second independent client besides the SDK.
const INSPECTOR = fileURLToPath(new URL("../../../node_modules/.bin/mcp-inspector-cli", import.meta.url));
// 1.0.3 looks for its own package.json with existsSync("../package.json") relative to the
// working directory (then imports it relative to its module): run it from its build directory.
const INSPECTOR_CWD = fileURLToPath(
  new URL("../../../node_modules/@modelcontextprotocol/inspector-cli/build/", import.meta.url),
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI asynchronously (the server under test lives in this process). */
function inspector(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(INSPECTOR, ["--cli", ...args], { cwd: INSPECTOR_CWD, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("error", reject);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON document the CLI printed (it may print a deprecation notice first). */
function printed(run: Run): Record<string, unknown> {
  const start = run.stdout.indexOf("{");
  if (start === -1) throw new Error(`no JSON in the output: ${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout.slice(start));
}

describe("the MCP Inspector CLI against examples/everything", () => {
  let api: Api;
  let url: string;
  beforeAll(async () => {
    api = await startApi(quickDatabase(), {}, { listen: true });
    await deploySource(api.admin, "everything", EVERYTHING_SOURCE);
    url = `${api.url}/everything/mcp`;
  }, 120_000);
  afterAll(async () => {
    await api?.close();
  });

  it("lists the tools", async () => {
    const run = await inspector([url, "--transport", "http", "--method", "tools/list"]);
    expect(run.code, run.stderr).toBe(0);
    const tools = (printed(run).tools as { name: string; inputSchema: unknown }[]).map((tool) => tool.name);
    expect(tools).toEqual(expect.arrayContaining(["test_simple_text", "test_tool_with_progress", "test_sampling"]));
  });

  it("calls a tool and prints its result", async () => {
    const run = await inspector([
      url,
      "--transport",
      "http",
      "--method",
      "tools/call",
      "--tool-name",
      "test_simple_text",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(printed(run)).toMatchObject({
      content: [{ type: "text", text: "This is a simple text response for testing." }],
    });
  });

  it("calls a tool whose answer streams (log notifications over SSE)", async () => {
    const run = await inspector([
      url,
      "--transport",
      "http",
      "--method",
      "tools/call",
      "--tool-name",
      "test_tool_with_logging",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(printed(run)).toMatchObject({ content: [{ text: "Tool with logging executed successfully" }] });
  });

  it("reads a resource and gets a prompt with arguments", async () => {
    const resource = await inspector([url, "--method", "resources/read", "--uri", "test://static-text"]);
    expect(resource.code, resource.stderr).toBe(0);
    expect(printed(resource)).toMatchObject({
      contents: [{ uri: "test://static-text", text: "This is the content of the static text resource." }],
    });
    const prompt = await inspector([
      url,
      "--method",
      "prompts/get",
      "--prompt-name",
      "test_prompt_with_arguments",
      "--prompt-args",
      "arg1=a",
      "arg2=b",
    ]);
    expect(prompt.code, prompt.stderr).toBe(0);
    expect(JSON.stringify(printed(prompt))).toContain("Prompt with arguments: arg1='a', arg2='b'");
  });

  it("passes tool arguments, checked against the tool's schema", async () => {
    const call = (value: string) =>
      inspector([url, "--method", "tools/call", "--tool-name", "test_sampling", "--tool-arg", `prompt=${value}`]);
    // A valid argument reaches the tool, which then needs sampling, which this client does not offer.
    const valid = await call("hello");
    expect(printed(valid)).toEqual({
      content: [{ type: "text", text: "the client does not support sampling" }],
      isError: true,
    });
    // The CLI sends "5" as a number: the input schema refuses it before the tool runs.
    const invalid = await call("5");
    expect(printed(invalid)).toEqual({
      content: [{ type: "text", text: "Invalid arguments: arguments/prompt must be string" }],
      isError: true,
    });
  });

  it("fails, with the server's error, on an unknown tool", async () => {
    const run = await inspector([url, "--transport", "http", "--method", "tools/call", "--tool-name", "nope"]);
    expect(run.code).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/Unknown tool: nope/);
  });
});
