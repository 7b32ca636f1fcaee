import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const runtimeDir = fileURLToPath(new URL("../..", import.meta.url));
export const MAIN = fileURLToPath(new URL("../../src/main.ts", import.meta.url));

/** The environment of a child process: only what the test says, plus PATH. Never the CI's store URLs by accident. */
export function cleanEnv(env: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "", ...env };
}

export interface IsolaProcess {
  child: ChildProcess;
  url: string;
  /** Every line the process wrote to stdout so far (JSON logs). */
  lines: string[];
  /** What it wrote to stderr so far (a crash's stack). */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node <entry> start` and resolves once it logs that it is listening. */
export async function spawnIsola(env: Record<string, string>, entry = MAIN, timeoutMs = 30_000): Promise<IsolaProcess> {
  const child = spawn(process.execPath, ["--no-node-snapshot", entry, "start"], {
    cwd: runtimeDir,
    env: cleanEnv({ PORT: "0", LOG_LEVEL: "info", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening" line within ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    let partial = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const complete = text.split("\n");
      partial = complete.pop() ?? "";
      for (const line of complete) {
        lines.push(line);
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === "isola is listening" && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`isola exited with ${code} before listening: ${stderr}${lines.join("\n")}`));
    });
  });
  return { child, url, lines, stderr: () => stderr, exited };
}
