import { meView } from "@isola/schema";
import { type Command, type Context, type Flags, usageLine } from "./command.ts";
import { normalizeUrl, saveCredentials } from "./credentials.ts";
import { UsageError } from "./errors.ts";
import { ApiClient } from "./http.ts";
import { readSecret } from "./stdin.ts";

export const login: Command = {
  name: "login",
  args: [],
  options: { url: { type: "string" }, token: { type: "string" } },
  synopsis: "--url URL --token TOKEN|-",
  summary: "Check a personal access token against an Isola instance and save both for the other commands.",
  details: [
    "--token - reads the token from stdin (a prompt without echo on a terminal), keeping it out of shell history.",
    "Saved to $XDG_CONFIG_HOME/isola/credentials.json (~/.config/isola/credentials.json), readable only by you.",
    "ISOLA_URL and ISOLA_TOKEN, when set, take precedence over the saved file (for CI).",
  ].join("\n"),
  async run(ctx: Context, _args: string[], flags: Flags) {
    const given = flags.string("url") ?? ctx.io.env.ISOLA_URL;
    if (!given) throw new UsageError("say where Isola runs with --url URL", usageLine(login));
    const url = normalizeUrl(given);
    if (!url) throw new UsageError(`--url takes an http(s) URL, not "${given}"`, usageLine(login));
    let token = flags.string("token");
    if (token === undefined)
      throw new UsageError("--token is required (--token - reads it from stdin)", usageLine(login));
    if (token === "-") token = (await readSecret(ctx.io, "Personal access token")).trim();
    if (token === "") throw new UsageError("the token is empty", usageLine(login));

    const me = await new ApiClient({ url, token }).call("GET", "/me", meView);
    const file = await saveCredentials(ctx.io.env, { url, token });
    ctx.print(me.raw, () => {
      const orgs = me.data.orgs.map((org) => `${org.slug} (${org.role})`).join(", ") || "no org";
      return `Logged in to ${url} as ${me.data.user.email}, in ${orgs}.\nSaved to ${file}\n`;
    });
  },
};
