import { randomBytes } from "node:crypto";
import type { Database, PlanDefinition } from "@isola/schema";
import type { Kysely } from "kysely";
import { toPlanRow } from "../orgs/plans.ts";

/** Plans a fresh instance starts with; an operator redefines or adds plans with ISOLA_PLANS_FILE. */
export const DEFAULT_PLANS = [
  {
    id: "default",
    name: "Default",
    max_servers: 50,
    calls_per_month: 1_000_000,
    memory_mb: 64,
    rate_limit_per_minute: 600,
  },
];

/**
 * Makes the plans table hold the configured plans (ISOLA_PLANS_FILE, already checked): they
 * are upserted, so that editing the file and restarting changes them. The built-in plans are
 * only inserted when missing, so that they never undo the file's version of `default`.
 * Plans are never deleted: orgs refer to them.
 */
export async function ensurePlans(db: Kysely<Database>, configured: PlanDefinition[] = []): Promise<void> {
  for (const plan of configured.map(toPlanRow)) {
    const { id: _, ...changes } = plan;
    await db
      .insertInto("plans")
      .values(plan)
      .onConflict((c) => c.column("id").doUpdateSet(changes))
      .execute();
  }
  for (const plan of DEFAULT_PLANS) {
    await db
      .insertInto("plans")
      .values(plan)
      .onConflict((c) => c.column("id").doNothing())
      .execute();
  }
}

/** An org slug from a hint (an email's local part, a name): DNS-label shaped, unique. */
async function freeOrgSlug(db: Kysely<Database>, hint: string): Promise<string> {
  const base = hint
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 30)
    .padEnd(3, "0");
  for (const candidate of [base, ...Array.from({ length: 5 }, () => `${base}-${randomBytes(2).toString("hex")}`)]) {
    const taken = await db.selectFrom("orgs").select("id").where("slug", "=", candidate).executeTakeFirst();
    if (!taken) return candidate;
  }
  return `${base}-${randomBytes(6).toString("hex")}`;
}

/** A new org on the default plan with `userId` as its owner. Call inside a transaction. */
export async function createOrgWithOwner(
  trx: Kysely<Database>,
  options: { userId: string; name: string; slugHint: string },
): Promise<{ id: string; slug: string }> {
  const slug = await freeOrgSlug(trx, options.slugHint);
  const org = await trx
    .insertInto("orgs")
    .values({ slug, name: options.name, plan_id: DEFAULT_PLANS[0]?.id ?? null })
    .returning(["id", "slug"])
    .executeTakeFirstOrThrow();
  await trx.insertInto("memberships").values({ org_id: org.id, user_id: options.userId, role: "owner" }).execute();
  return org;
}
