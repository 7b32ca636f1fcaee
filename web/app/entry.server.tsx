import { PassThrough } from "node:stream";
import { createReadableStreamFromReadable } from "@react-router/node";
import { isbot } from "isbot";
import type { RenderToPipeableStreamOptions } from "react-dom/server";
import { renderToPipeableStream } from "react-dom/server";
import type { EntryContext, HandleErrorFunction, RouterContextProvider } from "react-router";
import { isRouteErrorResponse, ServerRouter } from "react-router";
import type { PageLogger } from "../server/request-context.ts";
import { webContext } from "./lib/context.ts";

// React Router's default Node entry, and three additions:
// - a page whose route says `handle = { scripts: false }` (the OAuth sign-in and consent pages)
//   is sent without the inline scripts that carry the loader data to the browser. root.tsx leaves
//   out <Scripts/> for them; without this, the page would still hold <script> elements (which its
//   CSP would refuse to run);
// - every inline script carries the response's CSP nonce (server/csp.ts): React's own, through
//   renderToPipeableStream, and React Router's (<Scripts>, <ScrollRestoration>, the streamed
//   loader data), through <ServerRouter nonce>, their default;
// - errors are logged by the request's logger (pino, with its reqId), not printed to stderr.

export const streamTimeout = 5_000;

function withoutScripts(context: EntryContext): boolean {
  return context.staticHandlerContext.matches.some(
    (match) => (context.routeModules[match.route.id]?.handle as { scripts?: boolean } | undefined)?.scripts === false,
  );
}

/** The request's web context; absent only when React Router refuses the load context itself. */
function webOf(context: Readonly<RouterContextProvider> | undefined) {
  try {
    return context?.get(webContext);
  } catch {
    return undefined;
  }
}

function logError(log: PageLogger | undefined, error: unknown): void {
  if (log) log.error({ err: error }, "the page failed");
  else console.error(error);
}

/** Errors of loaders, actions and rendering (not the responses they throw on purpose, such as a 404). */
export const handleError: HandleErrorFunction = (error, { request, context }) => {
  // A browser that left: nothing failed.
  if (request.signal.aborted) return;
  // A 500 React Router made of an error carries it (ErrorResponseImpl.error, not in the public type).
  const cause = isRouteErrorResponse(error) ? (error as { error?: unknown }).error : undefined;
  logError(webOf(context)?.log, cause ?? error);
};

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  routerContext: EntryContext,
  loadContext: RouterContextProvider,
) {
  // https://httpwg.org/specs/rfc9110.html#HEAD
  if (request.method.toUpperCase() === "HEAD") {
    return new Response(null, { status: responseStatusCode, headers: responseHeaders });
  }
  const web = webOf(loadContext);
  const noScripts = withoutScripts(routerContext);
  if (noScripts && routerContext.serverHandoffStream) {
    void routerContext.serverHandoffStream.cancel().catch(() => {});
    routerContext.serverHandoffStream = undefined;
  }

  return new Promise((resolve, reject) => {
    let shellRendered = false;
    const userAgent = request.headers.get("user-agent");
    // Bots, and pages without scripts (nothing would fill in what streams late), get the whole page at once.
    const readyOption: keyof RenderToPipeableStreamOptions =
      noScripts || (userAgent && isbot(userAgent)) || routerContext.isSpaMode ? "onAllReady" : "onShellReady";

    // Abort the rendering stream after the `streamTimeout` so it has time to flush down the rejected boundaries.
    let timeoutId: ReturnType<typeof setTimeout> | undefined = setTimeout(() => abort(), streamTimeout + 1000);

    const nonce = web?.nonce;
    const router = <ServerRouter context={routerContext} url={request.url} nonce={nonce} />;
    const { pipe, abort } = renderToPipeableStream(router, {
      nonce,
      [readyOption]() {
        shellRendered = true;
        const body = new PassThrough({
          final(callback) {
            clearTimeout(timeoutId);
            timeoutId = undefined;
            callback();
          },
        });
        const stream = createReadableStreamFromReadable(body);
        responseHeaders.set("Content-Type", "text/html");
        pipe(body);
        resolve(new Response(stream, { headers: responseHeaders, status: responseStatusCode }));
      },
      onShellError(error: unknown) {
        reject(error);
      },
      onError(error: unknown) {
        responseStatusCode = 500;
        // Errors in the shell reject and reach handleError through React Router; these came later.
        if (shellRendered && !request.signal.aborted) logError(web?.log, error);
      },
    });
  });
}
