import { type ServerView, serverView, versionView } from "@isola/schema";
import { type Command, positiveInteger } from "./command.ts";
import { ApiError } from "./errors.ts";
import { type ApiClient, path, type Reply } from "./http.ts";
import { table, when } from "./output.ts";

/**
 * Makes version `number` live (deploy) or live again (rollback). When its code reaches hosts
 * nobody approved, the API refuses (409): say which, and the exact commands that fix it.
 */
export async function activate(
  api: ApiClient,
  slug: string,
  number: number,
  kind: "deploy" | "rollback",
): Promise<Reply<ServerView>> {
  try {
    return await api.call("POST", path`/servers/${slug}/${kind}`, serverView, { body: { version: number } });
  } catch (error) {
    if (error instanceof ApiError && error.code === "egress-not-approved") {
      const hosts = Array.isArray(error.problem.hosts) ? (error.problem.hosts as string[]) : [];
      error.hint = [
        `Version ${number} of ${slug} fetches hosts that are not approved: ${hosts.join(", ")}`,
        `Approve them, then make version ${number} live:`,
        `  isola servers approve ${slug} ${hosts.join(" ")}`,
        `  isola versions deploy ${slug} ${number}`,
      ];
    }
    throw error;
  }
}

export function liveText(server: ServerView): string {
  const paused = server.status === "paused" ? ` (paused: resume it with isola servers resume ${server.slug})` : "";
  return `${server.slug} version ${server.activeVersion} is live${paused}.\nMCP URL: ${server.mcpUrl}\n`;
}

const ls: Command = {
  name: "versions ls",
  args: ["SLUG"],
  summary: "A server's versions, newest first; * marks the live one.",
  async run(ctx, [slug = ""]) {
    const api = await ctx.api();
    const versions = await api.list(path`/servers/${slug}/versions`, versionView);
    ctx.print(versions.raw, () =>
      versions.items.length === 0
        ? `${slug} has no versions yet. Upload one with: isola deploy ./dir --slug ${slug}\n`
        : table(
            ["VERSION", "CREATED", "BY", "TOOLS"],
            versions.items.map((v) => [
              `${v.number}${v.active ? " *" : ""}`,
              when(v.createdAt),
              v.createdBy ?? "-",
              v.manifest.tools.map((t) => t.name).join(", ") || "-",
            ]),
          ),
    );
  },
};

const deployVersion: Command = {
  name: "versions deploy",
  args: ["SLUG", "VERSION"],
  summary: "Make a stored version live (isola deploy uploads and deploys in one go).",
  async run(ctx, [slug = "", version = ""]) {
    const number = positiveInteger(version, "VERSION", deployVersion);
    const server = await activate(await ctx.api(), slug, number, "deploy");
    ctx.print(server.raw, () => liveText(server.data));
  },
};

export const rollback: Command = {
  name: "rollback",
  args: ["SLUG", "VERSION"],
  summary: "Make an earlier version live again.",
  async run(ctx, [slug = "", version = ""]) {
    const number = positiveInteger(version, "VERSION", rollback);
    const server = await activate(await ctx.api(), slug, number, "rollback");
    ctx.print(server.raw, () => liveText(server.data));
  },
};

export const versionCommands = [ls, deployVersion];
