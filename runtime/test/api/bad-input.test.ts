// Bad input on every route of /api/v1: each case gets application/problem+json with the stable
// type, status and title of the catalogue, a detail that names the problem, a type the OpenAPI
// document declares for that operation, and writes nothing (the database is unchanged).
import { randomUUID } from "node:crypto";
import { PROBLEMS, type ProblemCode, problemType } from "@isola/control";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { databaseBackends } from "../support/backends.ts";
import { type BadCase, CASES } from "./bad-input-cases.ts";
import { changedTables, snapshot } from "./db-snapshot.ts";
import { type Operation, servedOperations } from "./operations.ts";
import { BUILDERS, BUILDS_QUEUE_ONLY, type Caller, type RouteRequest, send, World } from "./route-requests.ts";

/** Well-formed values that name nothing, and what the 404's detail must then say. */
const UNKNOWN: Record<string, { value: () => string; detail: RegExp }> = {
  slug: { value: () => "no-such-server", detail: /no server called no-such-server/ },
  org: { value: () => "no-such-org", detail: /no org called no-such-org/ },
  name: { value: () => "NO_SUCH_SECRET", detail: /has no secret NO_SUCH_SECRET/ },
  number: { value: () => "999", detail: /has no version 999/ },
  id: {
    value: () => randomUUID(),
    detail: /no (token|key|unaccepted invitation|grant|build|secret request) with that id/,
  },
  userId: { value: () => randomUUID(), detail: /no such member/ },
  // The browser's interaction cookie names another interaction.
  uid: { value: () => randomUUID(), detail: /this browser's sign-in is another one/ },
};

const shapeError = (parameter: string) => new RegExp(`path is not valid.*at ${parameter}`);

/**
 * Values of the wrong shape for each path parameter, and what the 400 says. Org slugs are looked
 * up as given (an unknown one is a 404): only a character Postgres cannot store is refused. One
 * over 100 characters never reaches the API: Fastify's router refuses it first (see docs/API.md).
 */
const MALFORMED: Record<string, { value: string; detail: RegExp }> = {
  slug: { value: "Not_A_Slug", detail: shapeError("slug") },
  org: { value: "a\u0000b", detail: /NUL character/ },
  name: { value: "not_upper_case", detail: shapeError("name") },
  number: { value: "0", detail: shapeError("number") },
  id: { value: "not-a-uuid", detail: shapeError("id") },
  userId: { value: "not-a-uuid", detail: shapeError("userId") },
  uid: { value: "not an id!", detail: shapeError("uid") },
};

/** A path parameter whose unknown value creates rather than misses. */
const CREATES_AT = new Set(["PUT /servers/{slug}/secrets/{name} name"]);

/** Problems a client fixes by changing its request: every one an operation declares is exercised. */
const INPUT_PROBLEMS: ProblemCode[] = [
  "invalid-request",
  "not-found",
  "conflict",
  "slug-taken",
  "egress-not-approved",
  "precondition-failed",
  "precondition-required",
  "compile-failed",
  "idempotency-key-reused",
  "reset-link-invalid",
];

/** The request with one path parameter replaced (the path's segments line up with the template's). */
function withParameter(operation: Operation, request: RouteRequest, parameter: string, value: string): RouteRequest {
  const template = operation.path.slice(1).split("/");
  const [path, search] = request.url.split("?");
  const segments = (path as string).split("/");
  segments[template.indexOf(`{${parameter}}`)] = encodeURIComponent(value);
  return { ...request, url: segments.join("/") + (search ? `?${search}` : "") };
}

/** A value of another JSON type than the property's. */
function wrongType(type: string | string[] | undefined): unknown {
  if (type === "string") return 12345;
  if (type === "number" || type === "integer" || type === "boolean") return "12345";
  return 12345;
}

/** The cases every operation gets from its description in the OpenAPI document. */
function genericCases(operation: Operation): BadCase[] {
  const op = operation.key;
  const cases: BadCase[] = [];
  const add = (name: string, request: BadCase["request"], code: ProblemCode, detail: RegExp) =>
    cases.push({ op, name, request, code, detail });
  if (operation.access !== "public") {
    add(
      "an Authorization header that is not a bearer token",
      async (_w, valid) => ({ ...valid, headers: { ...valid.headers, authorization: "Basic b3duZXI6cHc=" } }),
      "unauthenticated",
      /Authorization: Bearer isola_pat_/,
    );
  }
  if (operation.method !== "GET") {
    add("malformed JSON", async (_w, valid) => ({ ...valid, body: '{"name": ' }), "invalid-request", /JSON/);
    add(
      "a body that is not JSON",
      async (_w, valid) => ({ ...valid, body: "name=x", headers: { ...valid.headers, "content-type": "text/plain" } }),
      "unsupported-media-type",
      /send application\/json, not text\/plain/,
    );
  }
  const schema = operation.bodySchema;
  if (schema) {
    add("an array for a body", async (_w, valid) => ({ ...valid, body: [] }), "invalid-request", /body is not valid/);
    const required = schema.required ?? [];
    if (required.length > 0 || schema.anyOf) {
      const named = required[0] ?? "source";
      add("no fields", async (_w, valid) => ({ ...valid, body: {} }), "invalid-request", new RegExp(named));
    }
    const field = required[0] ?? Object.keys(schema.properties ?? {})[0];
    if (field) {
      const value = wrongType(schema.properties?.[field]?.type);
      add(
        `${field} of the wrong type`,
        async (_w, valid) => ({ ...valid, body: { ...(valid.body as object), [field]: value } }),
        "invalid-request",
        new RegExp(`\\b${field}\\b`),
      );
    }
    if (schema.additionalProperties === false) {
      add(
        "an unknown field",
        async (_w, valid) => ({ ...valid, body: { ...(valid.body as object), colour: "red" } }),
        "invalid-request",
        /Unrecognized key: "colour"/,
      );
    }
  }
  for (const parameter of operation.pathParameters) {
    const unknown = UNKNOWN[parameter];
    if (unknown && !CREATES_AT.has(`${op} ${parameter}`)) {
      add(
        `an unknown ${parameter}`,
        async (_w, valid) => withParameter(operation, valid, parameter, unknown.value()),
        "not-found",
        unknown.detail,
      );
    }
    const malformed = MALFORMED[parameter];
    if (malformed) {
      add(
        `a malformed ${parameter}`,
        async (_w, valid) => withParameter(operation, valid, parameter, malformed.value),
        "invalid-request",
        malformed.detail,
      );
    }
  }
  const separator = (valid: RouteRequest) => (valid.url.includes("?") ? "&" : "?");
  if (operation.queryParameters.includes("limit")) {
    add(
      "a limit of 0",
      async (_w, valid) => ({ ...valid, url: `${valid.url}${separator(valid)}limit=0` }),
      "invalid-request",
      /expected number to be >=1.*at limit/,
    );
  }
  if (operation.queryParameters.includes("cursor")) {
    add(
      "a cursor this list never gave out",
      async (_w, valid) => ({ ...valid, url: `${valid.url}${separator(valid)}cursor=garbage` }),
      "invalid-request",
      /cursor is not one this list gave out/,
    );
  }
  return cases;
}

const casesOf = (operation: Operation) => [...genericCases(operation), ...CASES.filter((c) => c.op === operation.key)];

describe.each(databaseBackends())("bad input on every route on $name", (backend) => {
  let api: Api;
  let world: World;
  let operations: Operation[];
  let owner: Caller;
  /** The same owner in a browser session: a token cannot accept an invitation (it acts in its own org only). */
  let ownerSession: Caller;
  const callerFor = (operation: Operation) => (operation.key === "POST /invitations/accept" ? ownerSession : owner);

  beforeAll(async () => {
    // Builds are queued (a model key is set) but never run: no worker role.
    api = await startApi(backend, BUILDS_QUEUE_ONLY);
    world = await World.create(api);
    operations = await servedOperations(api);
    const me = (await api.admin.get("me")).body;
    owner = {
      name: "owner",
      headers: async () => ({ authorization: `Bearer ${api.adminToken}` }),
      userId: me.user.id,
      email: me.user.email,
      org: world.org,
    };
    ownerSession = { ...owner, name: "owner's browser session", headers: () => world.session(me.user.id) };
  }, 60_000);

  afterAll(async () => {
    await api?.close();
  });

  it("notices a write that changes no row count (the guard the cases rely on)", async () => {
    const slug = await world.server("draft");
    const before = await snapshot(api.stores.db);
    await world.ok(
      api.admin.patch(`servers/${slug}`, { name: "Renamed" }, { "if-match": await world.etag(slug) }),
      200,
    );
    expect(changedTables(before, await snapshot(api.stores.db)).sort()).toEqual(["audit_log", "servers"]);
  });

  it("has cases for operations that exist, and exercises every input problem each operation declares", () => {
    const served = new Set(operations.map((operation) => operation.key));
    expect(
      [...served].filter((key) => !(key in BUILDERS)),
      "operations without a builder",
    ).toEqual([]);
    expect(CASES.filter((c) => !served.has(c.op)).map((c) => c.op)).toEqual([]);
    const missing = operations.flatMap((operation) => {
      const exercised = new Set(casesOf(operation).map((c) => problemType(c.code)));
      // An operation without any input cannot be sent an invalid one.
      const noInput = operation.method === "GET" && !operation.bodySchema && operation.pathParameters.length === 0;
      return INPUT_PROBLEMS.filter((code) => operation.problems.includes(problemType(code)))
        .filter((code) => !exercised.has(problemType(code)) && !(code === "invalid-request" && noInput))
        .map((code) => `${operation.key}: ${code}`);
    });
    expect(missing, "declared problems no case exercises").toEqual([]);
  });

  it.each(Object.keys(BUILDERS))("%s", async (key) => {
    const operation = operations.find((candidate) => candidate.key === key);
    const build = BUILDERS[key];
    if (!operation || !build) throw new Error(`${key} is not in the OpenAPI document`);
    // Every case's request first (their fixtures are writes), then all of them between two
    // fingerprints of the database: none may write anything.
    const caller = callerFor(operation);
    const prepared: { name: string; expected: BadCase; request: RouteRequest }[] = [];
    for (const badCase of casesOf(operation)) {
      const request = await badCase.request(world, await build(world, caller), caller);
      prepared.push({ name: badCase.name, expected: badCase, request });
    }
    const headers = await caller.headers();
    const mismatches: string[] = [];
    const before = await snapshot(api.stores.db);
    for (const { name, expected, request } of prepared) {
      const response = await send(api, operation.method, request, headers);
      const { status, title } = PROBLEMS[expected.code];
      const type = problemType(expected.code);
      const problem = response.body ?? {};
      const wrong = [
        response.status !== status && `status ${response.status}, not ${status}`,
        !String(response.headers["content-type"]).startsWith("application/problem+json") && "not problem+json",
        problem.type !== type && `type ${problem.type}, not ${type}`,
        problem.status !== status && "status member",
        problem.title !== title && "title",
        !expected.detail.test(String(problem.detail)) && `detail does not match ${expected.detail}`,
        problem.instance !== `/api/v1/${request.url.split("?")[0]}` && "instance",
        !operation.problems.includes(type) && `${type} not declared in OpenAPI`,
      ].filter(Boolean);
      if (expected.has) {
        try {
          expect(problem).toMatchObject(expected.has);
        } catch {
          wrong.push(`lacks ${JSON.stringify(expected.has)}`);
        }
      }
      if (wrong.length > 0)
        mismatches.push(`${name}: ${wrong.join(", ")}; got ${JSON.stringify(problem).slice(0, 400)}`);
    }
    const changed = changedTables(before, await snapshot(api.stores.db));
    if (changed.length > 0) mismatches.push(`the refused requests wrote to ${changed.join(", ")}`);
    expect(mismatches).toEqual([]);
  });
});
