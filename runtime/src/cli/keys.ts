import { apiKeyList, createdApiKey } from "@isola/schema";
import type { Command } from "./command.ts";
import { UsageError } from "./errors.ts";
import { path } from "./http.ts";
import { table, when } from "./output.ts";

const create: Command = {
  name: "keys create",
  args: ["SLUG"],
  options: { name: { type: "string" }, "expires-in-days": { type: "string" }, "rate-limit": { type: "string" } },
  synopsis: "--name N [--expires-in-days D] [--rate-limit PER_MINUTE]",
  summary: "Create an API key for MCP clients of an api_key server; the key is shown once.",
  details: "The name identifies the caller in usage and logs. --rate-limit caps calls per minute for this key.",
  async run(ctx, [slug = ""], flags) {
    const name = flags.string("name");
    const expiresInDays = flags.integer("expires-in-days", 1, 3650);
    const rateLimitPerMinute = flags.integer("rate-limit", 1, 100_000);
    if (name === undefined) throw new UsageError("--name is required");
    const api = await ctx.api();
    const key = await api.call("POST", path`/servers/${slug}/keys`, createdApiKey, {
      body: {
        name,
        ...(expiresInDays === undefined ? {} : { expiresInDays }),
        ...(rateLimitPerMinute === undefined ? {} : { rateLimitPerMinute }),
      },
    });
    ctx.print(
      key.raw,
      () =>
        `Created API key "${key.data.name}" for ${slug} (id ${key.data.id}):\n\n  ${key.data.key}\n\nCopy it now: it will not be shown again.\n`,
    );
  },
};

const ls: Command = {
  name: "keys ls",
  args: ["SLUG"],
  summary: "A server's API keys (prefixes only, never the keys).",
  async run(ctx, [slug = ""]) {
    const api = await ctx.api();
    const keys = await api.call("GET", path`/servers/${slug}/keys`, apiKeyList);
    ctx.print(keys.raw, () =>
      keys.data.items.length === 0
        ? `${slug} has no API keys. Create one with: isola keys create ${slug} --name NAME\n`
        : table(
            ["ID", "NAME", "PREFIX", "CREATED", "EXPIRES", "LAST USED", "RATE/MIN", "REVOKED"],
            keys.data.items.map((k) => [
              k.id,
              k.name,
              k.prefix,
              when(k.createdAt),
              when(k.expiresAt),
              when(k.lastUsedAt),
              k.rateLimitPerMinute ? String(k.rateLimitPerMinute) : "-",
              when(k.revokedAt),
            ]),
          ),
    );
  },
};

const revoke: Command = {
  name: "keys revoke",
  args: ["SLUG", "ID"],
  summary: "Revoke an API key (effective at once).",
  async run(ctx, [slug = "", id = ""]) {
    const api = await ctx.api();
    await api.send("DELETE", path`/servers/${slug}/keys/${id}`);
    ctx.print({ revoked: id }, () => `Revoked key ${id} of ${slug}.\n`);
  },
};

export const keyCommands = [create, ls, revoke];
