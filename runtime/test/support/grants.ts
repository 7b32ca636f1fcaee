// An OAuth grant as the authorization server stores it (oauth_models), for tests and benches whose
// tokens are minted by a stand-in issuer: the runtime refuses a token whose grant does not stand.
import { randomBytes } from "node:crypto";
import type { Database } from "@isola/schema";
import type { Kysely } from "kysely";

export interface GrantFixture {
  accountId: string;
  clientId?: string;
  /** Resource URL -> space-separated scopes. */
  resources?: Record<string, string>;
}

/** Stores a grant valid for a day; its id. */
export async function storeGrant(db: Kysely<Database>, grant: GrantFixture): Promise<string> {
  const id = randomBytes(24).toString("base64url");
  await db
    .insertInto("oauth_models")
    .values({
      model: "Grant",
      id,
      payload: JSON.stringify({
        kind: "Grant",
        jti: id,
        accountId: grant.accountId,
        clientId: grant.clientId ?? "fixture-client",
        resources: grant.resources ?? {},
      }),
      grant_id: id,
      account_id: grant.accountId,
      expires_at: new Date(Date.now() + 86_400_000),
    })
    .execute();
  return id;
}
