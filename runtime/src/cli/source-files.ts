import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { CliError } from "./errors.ts";

/** Paths the upload leaves out: dependencies, dotfiles and dot-directories (.git, .isola). */
export function isIgnored(relativePath: string): boolean {
  return relativePath.split(/[\\/]/).some((part) => part.startsWith(".") || part === "node_modules");
}

const isSource = (name: string) => name.endsWith(".ts") && !name.endsWith(".d.ts");

/**
 * A server's source as the API takes it: every .ts file under `dir` (declaration files aside),
 * by path relative to `dir` with forward slashes, in a stable order.
 */
export async function readSourceFiles(dir: string): Promise<Record<string, string>> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`${dir} is not a directory`);
  const files: Record<string, string> = {};
  async function walk(relative: string): Promise<void> {
    const entries = await readdir(join(dir, relative), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (isIgnored(entry.name)) continue;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && isSource(entry.name)) files[path] = await readFile(join(dir, path), "utf8");
    }
  }
  await walk("");
  if (Object.keys(files).length === 0) throw new CliError(`${dir} holds no .ts files`);
  return files;
}
