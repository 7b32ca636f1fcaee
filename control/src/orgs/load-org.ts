import type { Database, OrgRole } from "@isola/schema";
import type { FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import { authorize } from "../auth/authorize.ts";
import type { Permission } from "../auth/rbac.ts";
import { problem } from "../http/problems.ts";

export interface LoadedOrg {
  id: string;
  slug: string;
  name: string;
  plan_id: string | null;
  /** What its ETag names. */
  revision: number;
  /** The caller's role in it. */
  role: OrgRole;
}

/** The org called `slug` if the caller may `permission` in it; 404 when it does not exist or is not theirs. */
export async function loadOrg(
  db: Kysely<Database>,
  request: FastifyRequest,
  slug: string,
  permission: Permission,
): Promise<LoadedOrg> {
  const notFound = `no org called ${slug}`;
  const org = await db
    .selectFrom("orgs")
    .select(["id", "slug", "name", "plan_id", "revision"])
    .where("slug", "=", slug)
    .executeTakeFirst();
  if (!org) throw problem("not-found", notFound);
  const role = await authorize(db, request, org.id, permission, notFound);
  return { ...org, role };
}
