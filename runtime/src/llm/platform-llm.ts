import type { LlmComplete } from "@isola/sandbox";
import type { Database } from "@isola/schema";
import type { Kysely } from "kysely";
import { anthropicComplete } from "./anthropic-complete.ts";
import { recordLlmUsage } from "./llm-usage.ts";

// ctx.llm as the composition root hands it to the sandbox supervisor: which key (the org's,
// else the instance's), the Anthropic call, and the metering of every answered completion.

export const NO_KEY_MESSAGE =
  "ctx.llm has no Anthropic API key: store the organisation's model key (PUT /api/v1/orgs/{org}/model-key), " +
  "a secret named ANTHROPIC_API_KEY for this server, or ask the operator to set ANTHROPIC_API_KEY on the instance";

export interface PlatformLlmOptions {
  db: Kysely<Database>;
  model: string;
  /** The instance's ANTHROPIC_API_KEY, used when the org has none. */
  instanceKey: string | undefined;
  /** The org's own key, when it stored one. */
  orgKey(orgId: string, serverId: string): Promise<string | undefined>;
  /** Unset: the SDK's own ANTHROPIC_BASE_URL. */
  baseURL?: string;
  now?: () => Date;
}

export function platformLlm(options: PlatformLlmOptions): LlmComplete {
  const now = options.now ?? (() => new Date());
  return async (request, caller) => {
    // Database and vault errors are the host's: tool code hears what failed, not why.
    const { orgId, apiKey } = await hostStep("its key could not be read", async () => {
      const orgId = caller.orgId ?? (await orgOf(options.db, caller.serverId));
      return { orgId, apiKey: (await options.orgKey(orgId, caller.serverId)) || options.instanceKey };
    });
    if (!apiKey) throw new Error(NO_KEY_MESSAGE);
    const target = { apiKey, model: options.model, ...(options.baseURL ? { baseURL: options.baseURL } : {}) };
    const result = await anthropicComplete(target, request, caller.signal);
    // An answer whose tokens are not counted is not handed out.
    await hostStep("its usage could not be recorded", () =>
      recordLlmUsage(options.db, { orgId, serverId: caller.serverId, at: now(), ...result.usage }),
    );
    return result;
  };
}

async function hostStep<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof UnknownServer) throw error;
    throw new Error(`ctx.llm failed: ${what}; try again later`);
  }
}

class UnknownServer extends Error {}

async function orgOf(db: Kysely<Database>, serverId: string): Promise<string> {
  const row = await db.selectFrom("servers").select("org_id").where("id", "=", serverId).executeTakeFirst();
  if (!row) throw new UnknownServer("ctx.llm is available only to servers stored on this instance");
  return row.org_id;
}
