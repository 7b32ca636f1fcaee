import { auditEntryView, meView, page } from "@isola/schema";
import type { Command } from "./command.ts";
import { CliError } from "./errors.ts";
import { type ApiClient, path } from "./http.ts";
import { table, when } from "./output.ts";

/** The org named, or the one the credentials reach (a token reaches exactly one). */
async function orgOf(api: ApiClient, named: string | undefined): Promise<string> {
  if (named !== undefined) return named;
  const { orgs } = (await api.call("GET", "/me", meView)).data;
  const [only] = orgs;
  if (orgs.length === 1 && only) return only.slug;
  if (orgs.length === 0) throw new CliError("you belong to no org");
  throw new CliError(`you are in several orgs; say which with --org: ${orgs.map((o) => o.slug).join(", ")}`);
}

export const audit: Command = {
  name: "audit",
  args: [],
  options: {
    org: { type: "string" },
    action: { type: "string" },
    limit: { type: "string" },
    cursor: { type: "string" },
  },
  synopsis: "[--org O] [--action A] [--limit N] [--cursor C]",
  summary: "What changed in an org, newest first: who, what, on what, from where.",
  details:
    "--action takes one action (server.deploy) or a prefix ending in a dot (server.). --cursor continues a listing.",
  async run(ctx, _args, flags) {
    const limit = flags.integer("limit", 1, 200);
    const action = flags.string("action");
    const api = await ctx.api();
    const org = await orgOf(api, flags.string("org"));
    const entries = await api.call("GET", path`/orgs/${org}/audit`, page(auditEntryView), {
      query: { action, limit, cursor: flags.string("cursor") },
    });
    ctx.print(entries.raw, () => {
      const { items, next } = entries.data;
      if (items.length === 0) return `Nothing in the audit log of ${org}${action ? ` for ${action}` : ""}.\n`;
      const rows = items.map((e) => [
        when(e.at),
        e.actor.label,
        e.action,
        `${e.target.type}${e.target.id ? ` ${e.target.id}` : ""}`,
        e.sourceIp ?? "-",
        Object.keys(e.detail).length === 0 ? "" : JSON.stringify(e.detail),
      ]);
      const filters = `--org ${org}${action ? ` --action ${action}` : ""}${limit ? ` --limit ${limit}` : ""}`;
      const more = next ? `More: isola audit ${filters} --cursor ${next}\n` : "";
      return table(["AT", "ACTOR", "ACTION", "TARGET", "FROM", "DETAIL"], rows) + more;
    });
  },
};
