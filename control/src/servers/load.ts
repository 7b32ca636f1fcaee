import type { Bus, Database, Server, ServerChanged } from "@isola/schema";
import { SERVER_CHANGES } from "@isola/schema";
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { authorize } from "../auth/authorize.ts";
import type { Permission } from "../auth/rbac.ts";
import { problem } from "../http/problems.ts";

export type ServerWithOrg = Server & { org_slug: string };

/** The server called `slug` if the caller may `permission` it; 404 when it does not exist or is not theirs. */
export async function loadServer(
  db: Kysely<Database>,
  request: FastifyRequest,
  slug: string,
  permission: Permission,
): Promise<ServerWithOrg> {
  const notFound = `no server called ${slug}`;
  const server = await db
    .selectFrom("servers as s")
    .innerJoin("orgs as o", "o.id", "s.org_id")
    .selectAll("s")
    .select("o.slug as org_slug")
    .where("s.slug", "=", slug)
    .executeTakeFirst();
  if (!server) throw problem("not-found", notFound);
  await authorize(db, request, server.org_id, permission, notFound);
  return server;
}

/**
 * Tells every runtime node that a server changed. After the transaction commits: a message
 * about a change that rolled back would be a lie. If the bus is down the change still stands;
 * runtimes re-read servers when they reconnect.
 */
export async function announce(
  bus: Bus,
  change: ServerChanged,
  request: { log: Pick<FastifyBaseLogger, "warn"> },
): Promise<void> {
  try {
    await bus.publish(SERVER_CHANGES, JSON.stringify(change));
  } catch (error) {
    request.log.warn({ err: (error as Error).message, server: change.slug }, "could not announce a server change");
  }
}
