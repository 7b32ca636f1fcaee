import { createHash } from "node:crypto";
import type { Database } from "@isola/schema";
import type { Kysely } from "kysely";
import { type Adapter, type AdapterPayload, errors } from "oidc-provider";

/**
 * Models whose id is the bearer credential itself (the library hands out the id as the token):
 * stored under the id's sha256, and without the `jti` in the payload, so that a copy of the
 * database holds no usable code or token. They are only ever looked up by id (or by grant to
 * revoke them), never by uid or user code, so nothing needs the plain id back.
 */
export const HASHED_MODELS: ReadonlySet<string> = new Set([
  "AccessToken",
  "AuthorizationCode",
  "RefreshToken",
  "ClientCredentials",
  "InitialAccessToken",
  "RegistrationAccessToken",
  "BackchannelAuthenticationRequest",
  "PushedAuthorizationRequest",
  "PreAuthorizedCode",
]);

export const hashId = (id: string) => createHash("sha256").update(id).digest("base64url");

/** The row id a model's id is stored under. */
export const storedId = (model: string, id: string) => (HASHED_MODELS.has(model) ? hashId(id) : id);

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : null);

/**
 * oidc-provider's storage on Kysely: one row per (model, id) in oauth_models, the payload as
 * jsonb. Expiry is a column: a row past it is not found, and the sweeper deletes it later.
 */
export class KyselyAdapter implements Adapter {
  readonly #model: string;
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;
  readonly #hashed: boolean;

  constructor(model: string, db: Kysely<Database>, now: () => Date = () => new Date()) {
    this.#model = model;
    this.#db = db;
    this.#now = now;
    this.#hashed = HASHED_MODELS.has(model);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const { jti: _jti, ...withoutJti } = payload;
    const json = JSON.stringify(this.#hashed ? withoutJti : payload);
    // Postgres cannot store U+0000 in jsonb: a request parameter carrying one is the client's error.
    if (json.includes("\\u0000")) throw new errors.InvalidRequest("a parameter contains a NUL character");
    const row = {
      payload: json,
      // A grant's own row carries its id, so that one DELETE ... WHERE grant_id removes a grant whole.
      grant_id: this.#model === "Grant" ? id : text(payload.grantId),
      uid: text(payload.uid),
      user_code: text(payload.userCode),
      account_id: text(payload.accountId),
      expires_at: typeof expiresIn === "number" ? new Date(this.#now().getTime() + expiresIn * 1000) : null,
    };
    await this.#db
      .insertInto("oauth_models")
      .values({ model: this.#model, id: storedId(this.#model, id), ...row })
      // consumed_at is kept: saving a consumed code again must not make it usable again.
      .onConflict((conflict) => conflict.columns(["model", "id"]).doUpdateSet(row))
      .execute();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const row = await this.#db
      .selectFrom("oauth_models")
      .select(["payload", "consumed_at", "expires_at"])
      .where("model", "=", this.#model)
      .where("id", "=", storedId(this.#model, id))
      .executeTakeFirst();
    return this.#payload(row, this.#hashed ? id : undefined);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findBy("uid", uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findBy("user_code", userCode);
  }

  async #findBy(column: "uid" | "user_code", value: string): Promise<AdapterPayload | undefined> {
    // A hashed model's payload lacks its id: the library never looks one up this way.
    if (this.#hashed) throw new Error(`${this.#model} is stored hashed and cannot be found by ${column}`);
    const row = await this.#db
      .selectFrom("oauth_models")
      .select(["payload", "consumed_at", "expires_at"])
      .where("model", "=", this.#model)
      .where(column, "=", value)
      .executeTakeFirst();
    return this.#payload(row);
  }

  #payload(
    row: { payload: Record<string, unknown>; consumed_at: Date | null; expires_at: Date | null } | undefined,
    jti?: string,
  ): AdapterPayload | undefined {
    if (!row || (row.expires_at && row.expires_at <= this.#now())) return undefined;
    return {
      ...row.payload,
      ...(jti === undefined ? {} : { jti }),
      ...(row.consumed_at ? { consumed: Math.floor(row.consumed_at.getTime() / 1000) } : {}),
    } as AdapterPayload;
  }

  async consume(id: string): Promise<void> {
    await this.#db
      .updateTable("oauth_models")
      .set({ consumed_at: this.#now() })
      .where("model", "=", this.#model)
      .where("id", "=", storedId(this.#model, id))
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.#db
      .deleteFrom("oauth_models")
      .where("model", "=", this.#model)
      .where("id", "=", storedId(this.#model, id))
      .execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db
      .deleteFrom("oauth_models")
      .where("model", "=", this.#model)
      .where("grant_id", "=", grantId)
      .execute();
  }
}

/** The adapter factory oidc-provider takes (one adapter per model). */
export function kyselyAdapter(db: Kysely<Database>, now?: () => Date): (model: string) => Adapter {
  return (model) => new KyselyAdapter(model, db, now);
}

/** Deletes the rows that have expired; returns how many. */
export async function sweepExpired(db: Kysely<Database>, now = new Date()): Promise<number> {
  const result = await db.deleteFrom("oauth_models").where("expires_at", "<", now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
