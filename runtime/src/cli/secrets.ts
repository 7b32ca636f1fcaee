import { SECRET_NAME, secretList, secretSetView } from "@isola/schema";
import type { Command } from "./command.ts";
import { CliError, UsageError } from "./errors.ts";
import { path } from "./http.ts";
import { table, when } from "./output.ts";
import { readSecret } from "./stdin.ts";

/** Checked before the value is typed or piped: a bad name should not cost the secret a trip. */
function checkName(name: string): string {
  if (SECRET_NAME.test(name)) return name;
  throw new UsageError(`"${name}" is not a secret name: capital letters, digits and _, starting with a letter`);
}

const set: Command = {
  name: "secrets set",
  args: ["SLUG", "NAME"],
  summary: "Set a secret the server's code reads as ctx.env.NAME; the value comes from stdin, never the command line.",
  details: [
    "On a terminal it prompts without echo. Otherwise it reads stdin to the end (one trailing newline is dropped):",
    "  printf '%s' \"$WEATHER_API_KEY\" | isola secrets set weather WEATHER_API_KEY",
    "  isola secrets set weather WEATHER_API_KEY < key.txt",
  ].join("\n"),
  async run(ctx, [slug = "", name = ""]) {
    checkName(name);
    const api = await ctx.api();
    const value = await readSecret(ctx.io, `Value of ${name} for ${slug}`);
    if (value === "") {
      throw new CliError(
        `no value for ${name} on stdin: pipe it in, e.g. printf '%s' "$${name}" | isola secrets set ${slug} ${name}`,
      );
    }
    const written = await api.call("PUT", path`/servers/${slug}/secrets/${name}`, secretSetView, { body: { value } });
    ctx.print(written.raw, () => `Set ${name} on ${slug}. Its value is never shown again.\n`);
  },
};

const ls: Command = {
  name: "secrets ls",
  args: ["SLUG"],
  summary: "A server's secrets: which its code declares and which are set (names only, never values).",
  async run(ctx, [slug = ""]) {
    const api = await ctx.api();
    const secrets = await api.call("GET", path`/servers/${slug}/secrets`, secretList);
    ctx.print(secrets.raw, () =>
      secrets.data.items.length === 0
        ? `${slug} has no secrets and its code declares none.\n`
        : table(
            ["NAME", "SET", "DECLARED", "UPDATED"],
            secrets.data.items.map((s) => [s.name, s.set ? "yes" : "no", s.declared ? "yes" : "no", when(s.updatedAt)]),
          ),
    );
  },
};

const rm: Command = {
  name: "secrets rm",
  args: ["SLUG", "NAME"],
  summary: "Delete a secret.",
  async run(ctx, [slug = "", name = ""]) {
    checkName(name);
    const api = await ctx.api();
    await api.send("DELETE", path`/servers/${slug}/secrets/${name}`);
    ctx.print({ deleted: name }, () => `Deleted ${name} from ${slug}.\n`);
  },
};

export const secretCommands = [set, ls, rm];
