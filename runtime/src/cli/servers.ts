import { AUTH_MODES, type ServerView, serverSlug, serverView } from "@isola/schema";
import type { Command } from "./command.ts";
import { CliError, UsageError } from "./errors.ts";
import { path } from "./http.ts";
import { table } from "./output.ts";

/** A slug the user chose, checked with the API's own rule before anything is sent. */
export function checkSlug(slug: string): string {
  const parsed = serverSlug.safeParse(slug);
  if (!parsed.success) throw new CliError(`"${slug}" cannot be a slug: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function serverLine(server: ServerView): string {
  return `${server.slug}: ${server.status}, auth mode ${server.authMode}, ${server.activeVersion === null ? "nothing deployed" : `version ${server.activeVersion}`}`;
}

const ls: Command = {
  name: "servers ls",
  args: [],
  options: { org: { type: "string" } },
  synopsis: "[--org O]",
  summary: "List the servers you can see (those of your token's org).",
  async run(ctx, _args, flags) {
    const api = await ctx.api();
    const servers = await api.list("/servers", serverView, { org: flags.string("org") });
    ctx.print(servers.raw, () =>
      servers.items.length === 0
        ? "No servers yet. Deploy one with: isola deploy ./dir --slug SLUG\n"
        : table(
            ["SLUG", "STATUS", "VERSION", "AUTH", "NAME", "MCP URL"],
            servers.items.map((s) => [s.slug, s.status, String(s.activeVersion ?? "-"), s.authMode, s.name, s.mcpUrl]),
          ),
    );
  },
};

const create: Command = {
  name: "servers create",
  args: ["SLUG"],
  options: {
    name: { type: "string" },
    "auth-mode": { type: "string" },
    description: { type: "string" },
    org: { type: "string" },
  },
  synopsis: `--auth-mode ${AUTH_MODES.join("|")} [--name N] [--description D] [--org O]`,
  summary: "Create a server: a draft until a version is deployed (isola deploy creates one too).",
  details: "The name defaults to the slug. --org is needed only when your credentials reach several orgs.",
  async run(ctx, [slug = ""], flags) {
    const authMode = flags.choice("auth-mode", AUTH_MODES);
    if (!authMode) throw new UsageError(`--auth-mode is required: ${AUTH_MODES.join(", ")}`);
    const description = flags.string("description");
    const org = flags.string("org");
    const api = await ctx.api();
    const created = await api.call("POST", "/servers", serverView, {
      body: {
        slug: checkSlug(slug),
        name: flags.string("name") ?? slug,
        authMode,
        ...(description === undefined ? {} : { description }),
        ...(org === undefined ? {} : { org }),
      },
    });
    ctx.print(
      created.raw,
      () =>
        `Created ${slug} in org ${created.data.org} (auth mode ${authMode}).\nDeploy code to it with: isola deploy ./dir --slug ${slug}\n`,
    );
  },
};

const pauseOrResume = (action: "pause" | "resume"): Command => ({
  name: `servers ${action}`,
  args: ["SLUG"],
  summary:
    action === "pause"
      ? "Stop serving MCP calls (they get 503) until resumed."
      : "Serve MCP calls again after a pause.",
  async run(ctx, [slug = ""]) {
    const api = await ctx.api();
    const server = await api.call("POST", path`/servers/${slug}/${action}`, serverView);
    ctx.print(server.raw, () => `${serverLine(server.data)}\n`);
  },
});

const rm: Command = {
  name: "servers rm",
  args: ["SLUG"],
  options: { yes: { type: "boolean" } },
  synopsis: "--yes",
  summary: "Delete a server with its versions, secrets and keys; its slug becomes free.",
  async run(ctx, [slug = ""], flags) {
    if (!flags.boolean("yes")) {
      throw new UsageError(
        `refusing to delete ${slug} without --yes: its versions, secrets and API keys go with it. To go ahead: isola servers rm ${slug} --yes`,
      );
    }
    const api = await ctx.api();
    await api.send("DELETE", path`/servers/${slug}`);
    ctx.print({ deleted: slug }, () => `Deleted ${slug}.\n`);
  },
};

const approve: Command = {
  name: "servers approve",
  args: ["SLUG", "HOST..."],
  summary: "Approve hosts the server's code may fetch (its code declares them in `egress`).",
  async run(ctx, [slug = "", ...hosts]) {
    const api = await ctx.api();
    const current = await api.call("GET", path`/servers/${slug}`, serverView);
    const egressApproved = [...new Set([...current.data.egressApproved, ...hosts.map((h) => h.toLowerCase())])];
    // If-Match: an approval made by someone else in between is not silently dropped.
    const updated = await api.call("PATCH", path`/servers/${slug}`, serverView, {
      body: { egressApproved },
      headers: { "if-match": current.etag ?? "" },
    });
    ctx.print(updated.raw, () => `${slug} may fetch: ${updated.data.egressApproved.join(", ")}\n`);
  },
};

export const serverCommands = [ls, create, pauseOrResume("pause"), pauseOrResume("resume"), rm, approve];
