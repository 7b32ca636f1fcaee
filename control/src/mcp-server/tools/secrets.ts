import { secretName, secretSetView, serverSlug } from "@isola/schema";
import { z } from "zod";
import { setSecret } from "../../secrets/secret-routes.ts";
import { loadServer } from "../../servers/load.ts";
import { askForSecrets, notAnswered } from "../secret-elicitation.ts";
import { addTool, answer, refusal, type ToolContext } from "../tool-kit.ts";

/** Secrets: set by the user on Isola's own page (URL-mode elicitation), never through a tool argument. */
export function registerSecretTools(context: ToolContext): void {
  const { deps, mcp } = context;

  addTool(mcp, "set_secret", {
    title: "Set a secret",
    description:
      "Sets a secret a server's code reads as ctx.env.NAME (an API key, a token). The value is never an argument: the client opens a page of Isola's for the user (URL-mode elicitation), where they enter it; Isola stores it encrypted, and never shows it again (not to you either). Creates or replaces the value. Needs the member role.",
    input: z.object({
      server: serverSlug.describe("The server's slug"),
      name: secretName.describe("The secret's name, e.g. WEATHER_API_KEY"),
    }),
    output: secretSetView,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
    async run({ server: slug, name }, call) {
      const { request } = call;
      // The permission first: nobody is asked for a value that could not be stored.
      const server = await loadServer(deps.db, request, slug, "secrets:write");
      const asked = await askForSecrets(
        context,
        call,
        `Enter the value of ${name} for the server ${server.slug}. It is stored encrypted and never shown again.`,
        [
          {
            name,
            required: true,
            description: `The value of ${name}, which ${server.slug}'s code reads as ctx.env.${name}.`,
          },
        ],
      );
      if (!asked.ok) {
        return refusal(
          [
            `${name} was not set: ${notAnswered(asked.why)}.`,
            `The user can set it themselves on the server's secrets page: ${deps.config.publicUrl}/servers/${server.slug}/secrets`,
            "or with the CLI (the value is read from stdin, never the command line):",
            `  printf '%s' "$${name}" | isola secrets set ${server.slug} ${name}`,
            `or with the API: PUT ${deps.config.publicUrl}/api/v1/servers/${server.slug}/secrets/${name} {"value": "..."}.`,
          ].join("\n"),
        );
      }
      const saved = await setSecret(deps, request, server.slug, name, asked.values[name] as string);
      return answer(saved, `${name} is set on ${server.slug} (stored encrypted; its value is never shown).`);
    },
  });
}
