import { type ControlTransport, createControlClient, fetchTransport, injectTransport } from "@isola/web";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/redis-server.ts";
import { useIsola } from "./support/isola.ts";

// The web app's client of the control plane, both ways it can go: inject into the same process,
// fetch to another. The same real control plane answers both.

const api = useIsola();

const transports: [string, () => ControlTransport][] = [
  ["inject", () => injectTransport(api.app)],
  ["fetch", () => fetchTransport(api.url)],
];

describe.each(transports)("through %s", (_name, transport) => {
  const client = (cookie?: string) => {
    const relayed: string[] = [];
    const control = createControlClient(transport(), {
      cookie,
      clientIp: "198.51.100.7",
      onSetCookie: (c) => relayed.push(c),
    });
    return { control, relayed };
  };

  it("gives control's problem details for a refusal (401 on /me without a session)", async () => {
    const result = await client().control.get("/me");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.status).toBe(401);
    expect(result.problem).toMatchObject({ type: "urn:isola:problem:unauthenticated", status: 401 });
  });

  it("keeps the field list of a validation problem", async () => {
    const result = await client().control.post("/auth/signup", { email: "not-an-email", password: "x" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem.type).toBe("urn:isola:problem:invalid-request");
    const paths = (result.problem.errors as { path: string }[]).map((error) => error.path).sort();
    expect(paths).toEqual(["email", "password"]);
  });

  it("relays the session cookie of a sign-up, which then reads /me and writes with its CSRF token", async () => {
    const email = `client-${Math.random().toString(36).slice(2)}@example.com`;
    const browser = client();
    const signedUp = await browser.control.post<{ user: { email: string } }>("/auth/signup", {
      email,
      password: "correct horse battery",
    });
    expect(signedUp.ok && signedUp.status).toBe(201);
    const session = browser.relayed.find((line) => line.startsWith("isola_session="));
    expect(session).toMatch(/HttpOnly/i);
    const cookie = (session as string).split(";")[0] as string;

    const next = client(cookie);
    const me = await next.control.get<{ user: { email: string } }>("/me");
    expect(me.ok && me.data.user.email).toBe(email);
    // A write: the client sends the CSRF token it learnt from /me.
    const token = await next.control.post("/me/tokens", { name: "from-the-web" });
    expect(token.status).toBe(201);

    // Without the token, control refuses the same write: the header is what made it pass.
    const stripping: ControlTransport = (request) => {
      const { "x-csrf-token": _dropped, ...headers } = request.headers;
      return transport()({ ...request, headers });
    };
    const bare = createControlClient(stripping, { cookie, onSetCookie: () => {} });
    const refused = await bare.post("/me/tokens", { name: "no-token" });
    expect(!refused.ok && refused.problem.type).toBe("urn:isola:problem:csrf-failed");
  });

  it("answers an unknown path with control's 404 problem", async () => {
    const result = await client().control.get("/no-such-thing");
    expect(!result.ok && result.problem.type).toBe("urn:isola:problem:not-found");
  });
});

describe("what each transport adds", () => {
  let echo: FastifyInstance;
  let echoUrl: string;
  beforeAll(async () => {
    // Plays what is not ours: a proxy in front of control that answers HTML, or garbage.
    echo = Fastify();
    echo.get("/api/v1/echo", async (request) => ({
      ip: request.ip,
      forwarded: request.headers["x-forwarded-for"] ?? null,
    }));
    echo.get("/api/v1/gateway", async (_request, reply) =>
      reply.code(502).type("text/html").send("<h1>Bad gateway</h1>"),
    );
    echo.get("/api/v1/garbage", async (_request, reply) => reply.type("application/json").send("{not json"));
    echoUrl = await echo.listen({ port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    await echo?.close();
  });
  const make = (transport: ControlTransport) =>
    createControlClient(transport, { clientIp: "198.51.100.7", onSetCookie: () => {} });

  it("inject hands control the browser's address; fetch sends it as X-Forwarded-For", async () => {
    const injected = await make(injectTransport(echo)).get<{ ip: string }>("/echo");
    expect(injected.ok && injected.data.ip).toBe("198.51.100.7");
    const fetched = await make(fetchTransport(echoUrl)).get<{ ip: string; forwarded: string }>("/echo");
    expect(fetched.ok && fetched.data).toEqual({ ip: "127.0.0.1", forwarded: "198.51.100.7" });
  });

  it("turns an answer without problem details into one, in words", async () => {
    const result = await make(fetchTransport(echoUrl)).get("/gateway");
    expect(result).toMatchObject({
      ok: false,
      status: 502,
      problem: { type: "about:blank", title: "Bad Gateway", detail: "the control plane answered 502 without details" },
    });
    const garbage = await make(fetchTransport(echoUrl)).get("/garbage");
    expect(garbage).toMatchObject({ ok: false, status: 502, problem: { detail: expect.stringMatching(/not JSON/) } });
  });

  it("says the control plane did not answer when nothing listens (503)", async () => {
    const port = await freePort();
    const result = await make(fetchTransport(`http://127.0.0.1:${port}`)).get("/me");
    expect(result).toMatchObject({
      ok: false,
      status: 503,
      problem: { type: "about:blank", title: "The control plane did not answer" },
    });
  });
});
