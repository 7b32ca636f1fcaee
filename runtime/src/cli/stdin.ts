import { CliError } from "./errors.ts";
import type { Io } from "./io.ts";

/**
 * Reads a secret (a secret's value, a token) from stdin, never from argv, so that it stays out
 * of shell history and `ps`. A terminal gets a prompt without echo; a pipe is read to its end,
 * minus the one newline `echo` adds.
 */
export async function readSecret(io: Io, label: string): Promise<string> {
  const { stdin } = io;
  if (stdin.isTTY && typeof stdin.setRawMode === "function") return promptHidden(io, label);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

function promptHidden(io: Io, label: string): Promise<string> {
  const { stdin } = io;
  io.err(`${label}: `);
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: Error) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      io.err("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (text: string) => {
      for (const char of text) {
        if (char === "\r" || char === "\n") return finish();
        // Ctrl-C, or Ctrl-D on an empty line: a raw terminal sends them to us instead of signalling.
        if (char === "\u0003" || (char === "\u0004" && value === "")) return finish(new CliError("cancelled", 130));
        if (char === "\u007f" || char === "\b") value = [...value].slice(0, -1).join("");
        else if (char >= " ") value += char;
      }
    };
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.resume();
  });
}
