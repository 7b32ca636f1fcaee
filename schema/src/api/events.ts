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
