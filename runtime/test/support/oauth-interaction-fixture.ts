// OAuth interactions made in-process (Fastify inject, no listening socket), for the API tables
// (RBAC matrix, bad input): an authorization request started by a browser of its own, the
// interaction cookie it got, and the form token the interaction's page would show; or the same
// signed in already, waiting at consent.
import { randomBytes } from "node:crypto";
import { type Api, deployHello } from "./api-harness.ts";
import { pkce } from "./oauth-client.ts";

export interface InteractionFixture {
  uid: string;
  /** The browser's Cookie header for the interaction's pages. */
  cookie: string;
  formToken: string;
  /** The browser's address (the sign-in limits count per address). */
  remoteAddress: string;
}

interface Setup {
  resource: string;
  clientId: string;
}

const setups = new WeakMap<Api, Promise<Setup>>();

/** One `oauth` server and one registered client per instance (registrations are limited per address). */
function setupOf(api: Api): Promise<Setup> {
  let setup = setups.get(api);
  if (!setup) {
    setup = (async () => {
      const slug = await deployHello(api.admin, `oauth-fixture-${randomBytes(3).toString("hex")}`, {
        authMode: "oauth",
        accessPolicy: { kind: "instance" },
      });
      const registered = await api.app.inject({
        method: "POST",
        url: "/oauth/reg",
        headers: { "content-type": "application/json" },
        payload: JSON.stringify({
          redirect_uris: ["http://127.0.0.1:9/callback"],
          token_endpoint_auth_method: "none",
          client_name: "Fixture Desktop",
        }),
      });
      if (registered.statusCode !== 201) throw new Error(`registration failed: ${registered.body}`);
      return { resource: `${api.config.publicUrl}/${slug}/mcp`, clientId: registered.json().client_id as string };
    })();
    setups.set(api, setup);
  }
  return setup;
}

/** The cookies a response sets, as a Cookie header (names and values only). */
function cookiesOf(setCookie: string | string[] | number | undefined, jar: Map<string, string>): void {
  const lines = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [String(setCookie)];
  for (const line of lines) {
    const [pair = ""] = line.split(";");
    const at = pair.indexOf("=");
    if (at > 0) jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
}

const header = (jar: Map<string, string>) => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");

async function read(api: Api, uid: string, cookie: string, remoteAddress: string): Promise<string> {
  const view = await api.app.inject({
    method: "GET",
    url: `/api/v1/oauth/interactions/${uid}`,
    headers: { cookie },
    remoteAddress,
  });
  if (view.statusCode !== 200) throw new Error(`reading the interaction failed: ${view.body}`);
  return view.json().formToken as string;
}

/** An authorization request's sign-in, waiting for the person. */
export async function loginInteraction(api: Api, remoteAddress: string): Promise<InteractionFixture> {
  const { resource, clientId } = await setupOf(api);
  const query = new URLSearchParams({
    response_type: "code",
    client_id: clientId,
    redirect_uri: "http://127.0.0.1:9/callback",
    code_challenge: pkce().challenge,
    code_challenge_method: "S256",
    scope: "mcp:tools",
    resource,
  });
  const jar = new Map<string, string>();
  const started = await api.app.inject({ method: "GET", url: `/oauth/auth?${query}`, remoteAddress });
  const location = String(started.headers.location ?? "");
  const uid = location.split("/").pop() ?? "";
  if (started.statusCode !== 303 || !location.includes("/oauth/interaction/")) {
    throw new Error(`the authorization did not start an interaction: ${started.statusCode} ${location}`);
  }
  cookiesOf(started.headers["set-cookie"], jar);
  const cookie = header(jar);
  return { uid, cookie, formToken: await read(api, uid, cookie, remoteAddress), remoteAddress };
}

/** The same, signed in as `email`: the consent waits. */
export async function consentInteraction(
  api: Api,
  remoteAddress: string,
  credentials: { email: string; password: string },
): Promise<InteractionFixture> {
  const login = await loginInteraction(api, remoteAddress);
  const signedIn = await api.app.inject({
    method: "POST",
    url: `/api/v1/oauth/interactions/${login.uid}/login`,
    headers: { cookie: login.cookie, "content-type": "application/json" },
    payload: JSON.stringify({ ...credentials, csrf: login.formToken }),
    remoteAddress,
  });
  if (signedIn.statusCode !== 200) throw new Error(`signing in failed: ${signedIn.body}`);
  // The resume cookie and the interaction cookie of the first step, as the browser holds them.
  const jar = new Map<string, string>();
  cookiesOf(login.cookie.split("; "), jar);
  const resumed = await api.app.inject({
    method: "GET",
    url: new URL(signedIn.json().redirectTo as string).pathname,
    headers: { cookie: header(jar) },
    remoteAddress,
  });
  const location = String(resumed.headers.location ?? "");
  if (resumed.statusCode !== 303 || !location.includes("/oauth/interaction/")) {
    throw new Error(`the sign-in did not lead to a consent: ${resumed.statusCode} ${location} ${resumed.body}`);
  }
  const uid = location.split("/").pop() ?? "";
  jar.clear();
  cookiesOf(resumed.headers["set-cookie"], jar);
  const cookie = header(jar);
  return { uid, cookie, formToken: await read(api, uid, cookie, remoteAddress), remoteAddress };
}
