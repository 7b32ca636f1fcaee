import { SetLevelRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import type { Method } from "../context.ts";
import { JSONRPC_ERRORS, JsonRpcError } from "../protocol/jsonrpc.ts";

/** What every Isola server offers (a server without tools simply lists none). */
export const SERVER_CAPABILITIES = {
  tools: { listChanged: false },
  // subscribe: accepted, so that clients may ask; a server's resources change only with a deploy.
  resources: { subscribe: true, listChanged: false },
  prompts: { listChanged: false },
  logging: {},
  completions: {},
};

export const ping: Method = async () => ({});

export const setLevel: Method = async ({ request, session, deps }) => {
  const parsed = SetLevelRequestSchema.safeParse(request);
  if (!parsed.success)
    throw new JsonRpcError(
      JSONRPC_ERRORS.invalidParams,
      "level must be one of debug, info, notice, warning, error, critical, alert, emergency",
    );
  await deps.sessions.update(session, { logLevel: parsed.data.params.level });
  return {};
};

/** No argument completions yet: an empty list is the honest answer (and a valid one). */
export const complete: Method = async () => ({ completion: { values: [], hasMore: false } });
