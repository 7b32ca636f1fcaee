import { join } from "node:path";
import { pathToFileURL } from "node:url";
import fastifyStatic from "@fastify/static";
import { sendResponse } from "@mcansh/react-router-fastify";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { createRequestHandler } from "react-router";
import { CLIENT_DIR, ensureBuilt, SERVER_ENTRY } from "./app-build.ts";
import { type ControlTransport, createControlClient } from "./control-client.ts";
import { newNonce, pagePolicy } from "./csp.ts";
import { crossSiteRefusal } from "./form-origin.ts";
import { redactingChildLogger } from "./log-urls.ts";
import { jsonNotFound, ownedByAnotherRole } from "./other-roles.ts";
import type { WebRequestContext, WebServerEntry } from "./request-context.ts";
import { fetchTransport, injectTransport } from "./transports.ts";
import { FORM_BODY_LIMIT, toWebRequest } from "./web-request.ts";

export interface WebPluginOptions {
  publicUrl: string;
  /** Where the control plane is: unset, it is mounted in this process (reached through inject). */
  controlUrl?: string | undefined;
  /** Where a build made at start says so. */
  log: { info(message: string): void; warn(message: string): void };
}

/** Hashed file names: a file under /assets never changes. */
const IMMUTABLE = "public, max-age=31536000, immutable";

/** With a content-security-policy of the response's own (csp.ts); a route's `headers` may replace it. */
const PAGE_HEADERS = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "strict-origin-when-cross-origin",
};

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Not a React page: the app is not involved when a form is refused before it runs. */
function refusalPage(reason: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>Refused</title>
<body style="background:#0a0a0a;color:#ededed;font-family:system-ui;padding:2rem">
<h1>This form was refused</h1><p>${escapeHtml(reason)}.</p><p><a style="color:#a5b4fc" href="/">Back to Isola</a></p>`;
}

/**
 * The web role: the React Router app, server-rendered by this process. Its pages answer every
 * URL no other role routes (it is the root not-found handler), so /api/v1, /oauth, the MCP
 * endpoints and /.well-known keep their own answers, and their unknown URLs a JSON 404
 * (other-roles.ts). Files under /assets are served from the build with immutable caching.
 */
export async function webPlugin(options: WebPluginOptions): Promise<FastifyPluginAsync> {
  // Before the app is built, not in the plugin: a build takes seconds, longer than Fastify
  // waits for a plugin to start on a slow or busy machine.
  await ensureBuilt(options.log);
  const { entry } = (await import(pathToFileURL(SERVER_ENTRY).href)) as { entry: WebServerEntry };
  return async (app) => {
    const publicUrl = new URL(options.publicUrl);
    const secureCookies = publicUrl.protocol === "https:";
    const transport: ControlTransport = options.controlUrl ? fetchTransport(options.controlUrl) : injectTransport(app);
    // Never "development": errors a page throws are not sent to the browser with their stack.
    const handle = createRequestHandler(entry.build, "production");

    await app.register(fastifyStatic, {
      root: CLIENT_DIR,
      prefix: "/",
      wildcard: false,
      dotfiles: "ignore",
      cacheControl: false,
      setHeaders: (res, path) =>
        res.setHeader(
          "cache-control",
          path.startsWith(join(CLIENT_DIR, "assets")) ? IMMUTABLE : "public, max-age=3600",
        ),
    });
    // React Router reads form bodies itself, from the request stream.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", (_request, _payload, done) => done(null));

    // Before the handler: its requests' loggers are made with it (reset and invitation links carry tokens).
    app.setChildLoggerFactory(redactingChildLogger);
    app.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
      if (ownedByAnotherRole(request.url)) return reply.code(404).send(jsonNotFound(request.method, request.url));
      const nonce = newNonce();
      reply.headers({ ...PAGE_HEADERS, "content-security-policy": pagePolicy(nonce) });
      const refusal = crossSiteRefusal({
        method: request.method,
        origin: request.headers.origin,
        secFetchSite: header(request, "sec-fetch-site"),
        host: request.headers.host,
        publicOrigin: publicUrl.origin,
      });
      if (refusal) return reply.code(403).type("text/html; charset=utf-8").send(refusalPage(refusal));
      if (Number(request.headers["content-length"] ?? 0) > FORM_BODY_LIMIT) {
        return reply.code(413).type("text/html; charset=utf-8").send(refusalPage("the form is too large"));
      }
      const web: WebRequestContext = {
        control: createControlClient(transport, {
          cookie: request.headers.cookie,
          clientIp: request.ip,
          requestId: request.id,
          onSetCookie: (value) => web.setCookies.push(value),
        }),
        setCookies: [],
        secureCookies,
        nonce,
        log: request.log,
      };
      const response = await handle(toWebRequest(request, reply, publicUrl), entry.loadContext(web));
      // A fresh Headers: a redirect's may be immutable.
      const headers = new Headers(response.headers);
      for (const cookie of web.setCookies) headers.append("set-cookie", cookie);
      await sendResponse(reply, new Response(response.body, { status: response.status, headers }));
    });
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
