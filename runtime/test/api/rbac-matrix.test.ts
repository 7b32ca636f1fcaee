// Every operation of /api/v1 (as the served OpenAPI document lists them) called by every kind of
// caller: the four roles (tokens), the owner's browser session with its CSRF token, without one
// and with another session's, nobody, the owner of another org (token and session), a revoked
// and an expired token, an expired session. Each is allowed (the documented success status) or
// refused exactly as documented (docs/API.md), with a problem the operation declares; refusals
// write nothing.
import { PROBLEMS, type ProblemCode, problemType } from "@isola/control";
import type { OrgRole } from "@isola/schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { changedTables, snapshot } from "./db-snapshot.ts";
import { type Operation, roleMay, servedOperations } from "./operations.ts";
import { memberOf, newOrg, type Person } from "./orgs-people.ts";
import { BUILDERS, BUILDS_QUEUE_ONLY, type Caller, type Sent, send, World } from "./route-requests.ts";

type Kind = "role" | "session" | "no-csrf" | "anonymous" | "foreign" | "revoked" | "expired";
type MatrixCaller = Caller & { kind: Kind; role?: OrgRole; via?: "token" | "session" };
type Outcome = { allowed: true } | { allowed: false; code: ProblemCode };

/** Signed-in operations that act in an org the caller's token is not for: a token acts in its own org only. */
const JOINS_ANOTHER_ORG = new Set(["POST /invitations/accept"]);

/** The documented policy (docs/API.md, "Who may call what"), as a pure function of the operation and the caller. */
function expectedOutcome(
  operation: Pick<Operation, "key" | "method" | "access">,
  caller: { kind: Kind; role?: OrgRole; via?: "token" | "session" },
): Outcome {
  const allowed = { allowed: true } as const;
  const refused = (code: ProblemCode) => ({ allowed: false, code }) as const;
  if (operation.access === "public") return allowed;
  if (caller.kind === "anonymous" || caller.kind === "revoked" || caller.kind === "expired")
    return refused("unauthenticated");
  if (caller.kind === "no-csrf" && operation.method !== "GET") return refused("csrf-failed");
  if (operation.access === "signed-in")
    return caller.via === "token" && JOINS_ANOTHER_ORG.has(operation.key) ? refused("forbidden") : allowed;
  // Another org's resources answer as if they did not exist.
  if (caller.kind === "foreign") return refused("not-found");
  return roleMay(operation.access, caller.role ?? "owner") ? allowed : refused("forbidden");
}

describe("the expected outcome", () => {
  const operation = (method: string, access: Operation["access"], key = `${method} /x`) => ({ key, method, access });
  const accept = operation("POST", "signed-in", "POST /invitations/accept");
  const deploy = operation("POST", { permission: "servers:deploy", minimumRole: "member" });
  it.each([
    [deploy, { kind: "role", role: "member" }, { allowed: true }],
    [deploy, { kind: "role", role: "viewer" }, { allowed: false, code: "forbidden" }],
    [deploy, { kind: "foreign" }, { allowed: false, code: "not-found" }],
    [deploy, { kind: "no-csrf" }, { allowed: false, code: "csrf-failed" }],
    [deploy, { kind: "expired" }, { allowed: false, code: "unauthenticated" }],
    [operation("GET", { permission: "servers:read", minimumRole: "viewer" }), { kind: "no-csrf" }, { allowed: true }],
    [operation("GET", "signed-in"), { kind: "foreign" }, { allowed: true }],
    [operation("POST", "signed-in"), { kind: "anonymous" }, { allowed: false, code: "unauthenticated" }],
    [operation("POST", "public"), { kind: "revoked" }, { allowed: true }],
    [accept, { kind: "role", role: "owner", via: "token" }, { allowed: false, code: "forbidden" }],
    [accept, { kind: "foreign", via: "token" }, { allowed: false, code: "forbidden" }],
    [accept, { kind: "session", via: "session" }, { allowed: true }],
    [accept, { kind: "revoked", via: "token" }, { allowed: false, code: "unauthenticated" }],
  ] as const)("%#: %o for %o", (op, caller, outcome) => {
    expect(expectedOutcome(op, caller)).toEqual(outcome);
  });
});

describe.each(databaseBackends())("every route x every caller on $name", (backend) => {
  let api: Api;
  let world: World;
  let operations: Operation[];
  let callers: MatrixCaller[];

  /** A token of `someone` in `org`, with its id (to revoke or expire it). */
  async function token(someone: Person, org: string): Promise<{ id: string; headers: Record<string, string> }> {
    const created = await someone.session.post("me/tokens", { name: world.unique("pat"), org });
    if (created.status !== 201) throw new Error(JSON.stringify(created.body));
    return { id: created.body.id, headers: { authorization: `Bearer ${created.body.token}` } };
  }

  beforeAll(async () => {
    // Builds are queued (a model key is set) but never run: no worker role.
    api = await startApi(backend, BUILDS_QUEUE_ONLY);
    world = await World.create(api);
    operations = await servedOperations(api);
    const org = world.org;
    const roles: MatrixCaller[] = [];
    let owner: Person | undefined;
    for (const role of ["owner", "admin", "member", "viewer"] as const) {
      const person = await memberOf(api, org, role);
      owner ??= person;
      const { headers } = await token(person, org);
      roles.push({
        name: role,
        kind: "role",
        role,
        via: "token",
        headers: async () => headers,
        ...identity(person, org),
      });
    }
    if (!owner) throw new Error("no owner");
    const theOwner = owner;
    const foreign = await newOrg(api, world.unique("elsewhere"));
    const foreignToken = await token(foreign.owner, foreign.slug);
    const revoked = await token(theOwner, org);
    if ((await theOwner.session.delete(`me/tokens/${revoked.id}`)).status !== 204) throw new Error("revoke failed");
    const expired = await token(theOwner, org);
    await api.stores.db
      .updateTable("personal_access_tokens")
      .set({ expires_at: new Date(Date.now() - 60_000) })
      .where("id", "=", expired.id)
      .execute();
    const session = (options: Parameters<World["session"]>[1]) => () => world.session(theOwner.userId, options);
    callers = [
      ...roles,
      {
        name: "owner's browser session",
        kind: "session",
        via: "session",
        headers: session({}),
        ...identity(theOwner, org),
      },
      {
        name: "owner's browser session without its CSRF token",
        kind: "no-csrf",
        via: "session",
        headers: session({ csrf: "none" }),
        ...identity(theOwner, org),
      },
      {
        name: "owner's browser session with another session's CSRF token",
        kind: "no-csrf",
        via: "session",
        headers: session({ csrf: "other" }),
        ...identity(theOwner, org),
      },
      { name: "no credentials", kind: "anonymous", headers: async () => ({}) },
      {
        name: "owner of another org (token)",
        kind: "foreign",
        via: "token",
        headers: async () => foreignToken.headers,
        ...identity(foreign.owner, foreign.slug),
      },
      {
        name: "owner of another org (browser session)",
        kind: "foreign",
        via: "session",
        headers: () => world.session(foreign.owner.userId),
        ...identity(foreign.owner, foreign.slug),
      },
      {
        name: "revoked token",
        kind: "revoked",
        via: "token",
        headers: async () => revoked.headers,
        ...identity(theOwner, org),
      },
      {
        name: "expired token",
        kind: "expired",
        via: "token",
        headers: async () => expired.headers,
        ...identity(theOwner, org),
      },
      {
        name: "expired browser session",
        kind: "expired",
        via: "session",
        headers: session({ expired: true }),
        ...identity(theOwner, org),
      },
    ];
  }, 60_000);

  afterAll(async () => {
    await api?.close();
  });

  it("has a request builder for every operation the OpenAPI document lists, and none for one it does not", () => {
    const served = operations.map((operation) => operation.key).sort();
    expect(
      served.filter((key) => !(key in BUILDERS)),
      "operations without a builder in route-requests.ts",
    ).toEqual([]);
    expect(
      Object.keys(BUILDERS).filter((key) => !served.includes(key)),
      "builders of operations not served",
    ).toEqual([]);
  });

  it.each(Object.keys(BUILDERS))("%s", async (key) => {
    const operation = operations.find((candidate) => candidate.key === key);
    const build = BUILDERS[key];
    if (!operation || !build) throw new Error(`${key} is not in the OpenAPI document`);
    // The refused callers' requests first (their fixtures are writes), then the refusals between
    // two fingerprints of the database, then the allowed calls, each built just before it is sent
    // (an ETag read at build time must still hold when several callers update one thing).
    const calls = [];
    for (const caller of callers) {
      const expected = expectedOutcome(operation, caller);
      const request = expected.allowed ? undefined : await build(world, caller);
      calls.push({ caller, expected, request, headers: await caller.headers() });
    }
    const mismatches: string[] = [];
    const said = (caller: Caller, response: Sent) =>
      `${caller.name}: ${response.status} ${JSON.stringify(response.body)?.slice(0, 300)}`;
    const before = await snapshot(api.stores.db);
    for (const { caller, expected, request, headers } of calls) {
      if (expected.allowed || !request) continue;
      const response = await send(api, operation.method, request, headers);
      const { status } = PROBLEMS[expected.code];
      const type = problemType(expected.code);
      if (response.status !== status || response.body?.type !== type)
        mismatches.push(`expected ${status} ${expected.code}; ${said(caller, response)}`);
      else if (!String(response.headers["content-type"]).startsWith("application/problem+json"))
        mismatches.push(`not problem+json; ${said(caller, response)}`);
      else if (!operation.problems.includes(type))
        mismatches.push(`${type} is not declared in OpenAPI; ${said(caller, response)}`);
    }
    const changed = changedTables(before, await snapshot(api.stores.db));
    if (changed.length > 0) mismatches.push(`refused calls wrote to ${changed.join(", ")}`);
    for (const { caller, expected, headers } of calls) {
      if (!expected.allowed) continue;
      const response = await send(api, operation.method, await build(world, caller), headers);
      if (response.status !== operation.success)
        mismatches.push(`expected ${operation.success}; ${said(caller, response)}`);
      // What another org's member may call must not show org A's servers.
      if (caller.kind === "foreign" && JSON.stringify(response.body ?? "").includes(world.shared))
        mismatches.push(`leaked ${world.shared}; ${said(caller, response)}`);
    }
    expect(mismatches).toEqual([]);
  });
});

function identity(person: Person, org: string) {
  return { userId: person.userId, email: person.email, org };
}
