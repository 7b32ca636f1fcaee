import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/**
 * The Kysely `Database` interface: one entry per table, kept in step with ./migrations.
 * A migration that changes a table changes its interface here in the same commit.
 */
export interface Database {
  users: UsersTable;
  orgs: OrgsTable;
  memberships: MembershipsTable;
  plans: PlansTable;
  sessions: SessionsTable;
  invitations: InvitationsTable;
  personal_access_tokens: PersonalAccessTokensTable;
  servers: ServersTable;
  server_versions: ServerVersionsTable;
  deployments: DeploymentsTable;
  secrets: SecretsTable;
  api_keys: ApiKeysTable;
  audit_log: AuditLogTable;
  idempotency_keys: IdempotencyKeysTable;
  usage_minutely: UsageMinutelyTable;
  oauth_models: OAuthModelsTable;
  oauth_signing_keys: OAuthSigningKeysTable;
  builds: BuildsTable;
  build_events: BuildEventsTable;
  org_secrets: OrgSecretsTable;
  llm_usage: LlmUsageTable;
  password_resets: PasswordResetsTable;
}

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** An update counter, 1 for a new row: what an ETag names. */
type Revision = ColumnType<number, number | undefined, number>;
/** jsonb: read as a value, written as JSON text (pg would turn a JS array into a Postgres array). */
type Json<T> = ColumnType<T, string, string>;

export interface UsersTable {
  id: Generated<string>;
  /** Stored as given; uniqueness is case-insensitive (index on lower(email)). */
  email: string;
  display_name: string | null;
  /** scrypt, "scrypt$N$r$p$salt$hash"; null for an account that cannot sign in with a password. */
  password_hash: string | null;
  created_at: CreatedAt;
}

export interface OrgsTable {
  id: Generated<string>;
  slug: string;
  name: string;
  plan_id: string | null;
  /** Bumped by every update of the row: its ETag is "r<revision>" (If-Match). */
  revision: Revision;
  created_at: CreatedAt;
}

export const ORG_ROLES = ["owner", "admin", "member", "viewer"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  role: OrgRole;
  /** Bumped by every role change: the member's ETag. */
  revision: Revision;
  created_at: CreatedAt;
}

export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Org = Selectable<OrgsTable>;
export type NewOrg = Insertable<OrgsTable>;
export type Membership = Selectable<MembershipsTable>;

export interface PlansTable {
  id: string;
  name: string;
  max_servers: number;
  calls_per_month: number;
  memory_mb: number;
  rate_limit_per_minute: number;
  created_at: CreatedAt;
}

export interface SessionsTable {
  /** sha256 of the cookie's token. */
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

/** An account's pending password reset (migration 0011): one row per account, a new request replaces it. */
export interface PasswordResetsTable {
  user_id: string;
  /** sha256 of the link's token. */
  token_hash: string;
  /** When the pending link was made: a new request replaces the row's token and times. */
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  expires_at: Timestamp;
  /** Set when the link set a password: it is single use. */
  used_at: NullableTimestamp;
}

export interface InvitationsTable {
  id: Generated<string>;
  org_id: string;
  email: string;
  role: OrgRole;
  token_hash: string;
  invited_by: string | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
}

export interface PersonalAccessTokensTable {
  id: Generated<string>;
  user_id: string;
  org_id: string;
  name: string;
  token_hash: string;
  /** The first characters of the token, to recognise it in lists. */
  prefix: string;
  created_at: CreatedAt;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

export const AUTH_MODES = ["oauth", "api_key", "public"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];
export const SERVER_STATUSES = ["draft", "live", "paused", "failed"] as const;
export type ServerStatus = (typeof SERVER_STATUSES)[number];

/** Who may authorize an OAuth client for a server. */
export type AccessPolicy = { kind: "org" } | { kind: "instance" } | { kind: "invite_list"; emails: string[] };

export interface ServersTable {
  id: Generated<string>;
  org_id: string;
  slug: string;
  name: string;
  description: Generated<string>;
  auth_mode: AuthMode;
  access_policy: Json<AccessPolicy>;
  egress_approved: Json<string[]>;
  status: ColumnType<ServerStatus, ServerStatus | undefined, ServerStatus>;
  active_version_id: string | null;
  /** Browser origins allowed to call the MCP endpoint (exact, never "*"). */
  allowed_origins: ColumnType<string[], string | undefined, string>;
  /** Serve the legacy HTTP+SSE transport too. */
  legacy_sse: ColumnType<boolean, boolean | undefined, boolean>;
  custom_domain: string | null;
  revision: Revision;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ServerVersionsTable {
  id: Generated<string>;
  server_id: string;
  number: number;
  source: Json<Record<string, string>>;
  bundle: string;
  manifest: Json<import("../manifest.ts").Manifest>;
  hash: string;
  compiler_version: string;
  build_log: Json<unknown[]>;
  /** The declarative tools compiled with `source` (schema's `declarativeServer`); null for code alone (0009). */
  declarative: ColumnType<
    import("../declarative.ts").DeclarativeServer | null,
    string | null | undefined,
    string | null
  >;
  created_by: string | null;
  created_at: CreatedAt;
}

export interface DeploymentsTable {
  id: Generated<string>;
  server_id: string;
  version_id: string;
  previous_version_id: string | null;
  kind: "deploy" | "rollback";
  /** Who deployed, as the audit log names actors. */
  actor: string;
  created_at: CreatedAt;
}

export interface SecretsTable {
  server_id: string;
  name: string;
  /** base64 of AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: string;
  /** base64 of the 12-byte nonce. */
  nonce: string;
  key_id: string;
  /** Bumped by every new value (not by a key rotation, which keeps the value): the secret's ETag. */
  revision: Revision;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface ApiKeysTable {
  id: Generated<string>;
  server_id: string;
  name: string;
  key_hash: string;
  prefix: string;
  rate_limit_per_minute: number | null;
  expires_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_by: string | null;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
}

export interface AuditLogTable {
  /** bigint: read it as text (`id::text`), pg and PGlite return int8 differently. */
  id: ColumnType<string, never, never>;
  org_id: string | null;
  actor_type: "user" | "token" | "system";
  actor_id: string | null;
  actor_label: string;
  action: string;
  target_type: string;
  target_id: string | null;
  source_ip: string | null;
  detail: Json<Record<string, unknown>>;
  created_at: CreatedAt;
}

export interface IdempotencyKeysTable {
  actor: string;
  key: string;
  request_hash: string;
  status: number;
  response: Json<unknown>;
  created_at: CreatedAt;
}

export type Server = Selectable<ServersTable>;
export type ServerUpdate = Updateable<ServersTable>;
export type ServerVersion = Selectable<ServerVersionsTable>;

export const USAGE_OUTCOMES = ["ok", "tool_error", "protocol_error", "limit", "timeout", "crash"] as const;
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];

export interface UsageMinutelyTable {
  server_id: string;
  org_id: string;
  minute: Timestamp;
  version: number;
  tool: string;
  /** The API key's name, or the OAuth subject and client ("sub via client"), or "anonymous". */
  caller: string;
  outcome: UsageOutcome;
  calls: number;
  duration_ms: number;
  bytes_in: number;
  bytes_out: number;
  latency_histogram: ColumnType<number[], number[], number[]>;
}

/** oidc-provider's models (clients, grants, sessions, interactions, codes, refresh tokens...), one row each. */
export interface OAuthModelsTable {
  /** The library's model name: "Grant", "Session", "RefreshToken", ... */
  model: string;
  /** The model's id; for models whose id is a bearer token, its sha256 (base64url). */
  id: string;
  /** The library's payload (for hashed models without its `jti`). */
  payload: Json<Record<string, unknown>>;
  /** The grant the row belongs to (a grant's own row carries its id too): revoking it deletes them all. */
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  /** The user (users.id) the row was issued to, when it names one. */
  account_id: string | null;
  /** Past it, the row is as good as gone (and the sweeper deletes it). */
  expires_at: NullableTimestamp;
  consumed_at: NullableTimestamp;
  created_at: CreatedAt;
}

/** The authorization server's signing keys; the private half encrypted like secrets. */
export interface OAuthSigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: Json<Record<string, unknown>>;
  ciphertext: string;
  nonce: string;
  /** Fingerprint of the secret key the private half is encrypted with. */
  key_id: string;
  /** From then on (the newest such key) it signs; before, it is only published. */
  signs_from: Timestamp;
  /** Past it the key is no longer published: every token it signed has expired. Null: no end yet. */
  expires_at: NullableTimestamp;
  created_at: CreatedAt;
}

export const BUILD_STATUSES = [
  "queued",
  "planning",
  "waiting",
  "confirmed",
  "coding",
  "checking",
  "deploying",
  "succeeded",
  "failed",
  "cancelled",
] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];

/** A build: the queue row and the state of one brief turned into a server (migration 0007). */
export interface BuildsTable {
  id: Generated<string>;
  org_id: string;
  /** The server built on (an iteration), or made at confirm (a new one). */
  server_id: string | null;
  kind: "new" | "iterate";
  /** The slug asked for (a new server); the plan's name decides when absent. */
  slug: string | null;
  prompt: string;
  status: BuildStatus;
  /** How the server it makes (a new one) authenticates callers. */
  auth_mode: AuthMode;
  auto_deploy: boolean;
  plan: Json<import("../build-plan.ts").BuildPlan> | null;
  answers: Json<Record<string, string>> | null;
  /** Code rounds so far: 1 is the first code, each later one a repair. */
  round: Generated<number>;
  max_rounds: number;
  /** The last round's files. */
  files: Json<Record<string, string>> | null;
  version_id: string | null;
  /** Why it failed: { message, errors? }. */
  error: Json<{ message: string; errors?: unknown[] }> | null;
  /** The seq of its last event. */
  event_seq: Generated<number>;
  claimed_by: string | null;
  lease_until: NullableTimestamp;
  /** How often a node picked it up after another's lease ran out. */
  resumes: Generated<number>;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  finished_at: NullableTimestamp;
}

export interface BuildEventsTable {
  build_id: string;
  seq: number;
  type: string;
  data: Json<Record<string, unknown>>;
  at: CreatedAt;
}

/** Tokens spent through ctx.llm, per org, server and minute. */
export interface LlmUsageTable {
  org_id: string;
  server_id: string;
  minute: Timestamp;
  calls: number;
  input_tokens: number;
  output_tokens: number;
}

/** A secret of an org as a whole (migration 0010), sealed like a server's: bound to the org and the name. */
export interface OrgSecretsTable {
  org_id: string;
  name: string;
  ciphertext: string;
  nonce: string;
  key_id: string;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
