import type { Config, Database } from "@isola/schema";
import { type Kysely, sql } from "kysely";
import { recordAudit } from "../audit/record.ts";
import { hashToken } from "../auth/secrets-at-rest.ts";
import { createOrgWithOwner, ensurePlans } from "./orgs.ts";

/**
 * Headless bootstrap: on a database with no users, ISOLA_ADMIN_EMAIL and ISOLA_ADMIN_TOKEN
 * create that owner, an org, and a personal access token whose value is ISOLA_ADMIN_TOKEN, so
 * that scripts and CI can drive everything over HTTP. Several nodes may boot at once: an
 * advisory lock lets one do it. Returns whether it created the owner.
 */
export async function bootstrap(db: Kysely<Database>, config: Config): Promise<boolean> {
  await ensurePlans(db);
  const { adminEmail, adminToken } = config;
  if (!adminEmail || !adminToken) return false;
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('isola.bootstrap'))`.execute(trx);
    const { count } = await trx
      .selectFrom("users")
      .select((eb) => eb.fn.countAll<string>().as("count"))
      .executeTakeFirstOrThrow();
    if (Number(count) > 0) return false;
    const user = await trx.insertInto("users").values({ email: adminEmail }).returning("id").executeTakeFirstOrThrow();
    const org = await createOrgWithOwner(trx, {
      userId: user.id,
      name: "Default",
      slugHint: adminEmail.split("@")[0] ?? "admin",
    });
    await trx
      .insertInto("personal_access_tokens")
      .values({
        user_id: user.id,
        org_id: org.id,
        name: "bootstrap",
        token_hash: hashToken(adminToken),
        prefix: adminToken.slice(0, 16),
      })
      .execute();
    await recordAudit(trx, null, {
      orgId: org.id,
      action: "instance.bootstrap",
      targetType: "user",
      targetId: user.id,
      detail: { email: adminEmail, org: org.slug },
    });
    return true;
  });
}
