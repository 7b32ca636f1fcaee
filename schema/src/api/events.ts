import { z } from "zod";

/** The Bus channel on which the control plane announces server changes to every runtime node. */
export const SERVER_CHANGES = "servers.changed";

/** A server changed: runtimes drop their cached view of it and, on a deploy, swap versions. */
export const serverChanged = z.object({
  kind: z.enum(["created", "updated", "deployed", "paused", "resumed", "deleted", "secrets", "keys"]),
  serverId: z.uuid(),
  slug: z.string(),
  activeVersionId: z.uuid().nullable(),
});

export type ServerChanged = z.infer<typeof serverChanged>;

/**
 * The Bus channel on which the authorization server announces a revoked OAuth grant (the message
 * is the grant's id): runtimes forget the tokens of that grant they had verified.
 */
export const OAUTH_GRANT_REVOKED = "oauth.grants.revoked";

/** The access token claim naming the grant a token was issued under (checked by the runtime on every new token). */
export const GRANT_CLAIM = "grant_id";
