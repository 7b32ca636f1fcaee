import { Transform } from "node:stream";
import { createHeaders } from "@mcansh/react-router-fastify";
import { createReadableStreamFromReadable } from "@react-router/node";
import type { FastifyReply, FastifyRequest } from "fastify";

/** The largest form the web app reads (its forms are small; React Router buffers a whole form). */
export const FORM_BODY_LIMIT = 1024 * 1024;

/** The body, cut off with an error past the limit (a sender may lie about or omit Content-Length). */
function limitedBody(request: FastifyRequest): ReadableStream<Uint8Array> {
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > FORM_BODY_LIMIT ? new Error(`the form is over ${FORM_BODY_LIMIT} bytes`) : null, chunk);
    },
  });
  return createReadableStreamFromReadable(request.raw.pipe(limiter));
}

/**
 * The page request as React Router sees it. Its URL is on PUBLIC_URL when the browser came
 * through PUBLIC_URL's host (behind a TLS proxy the socket says http, the browser https), else on
 * the host the browser named: React Router refuses an action whose Origin differs from it.
 */
export function toWebRequest(request: FastifyRequest, reply: FastifyReply, publicUrl: URL): Request {
  const host = request.headers.host ?? publicUrl.host;
  const origin = host.toLowerCase() === publicUrl.host ? publicUrl.origin : `${request.protocol}://${host}`;
  const controller = new AbortController();
  // A browser that leaves stops the rendering; a response that finished is not aborted.
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  // An absolute-form request target ("GET http://other/ HTTP/1.1") is read as a path on this site.
  const path = request.url.startsWith("/") ? request.url : `/${request.url.replace(/^[a-z]+:\/\/[^/]*\/?/i, "")}`;
  return new Request(`${origin}${path}`, {
    // HEAD answers with GET's headers (React Router drops them); Node sends no body for HEAD.
    method: request.method === "HEAD" ? "GET" : request.method,
    headers: createHeaders(request.headers),
    signal: controller.signal,
    ...(hasBody ? { body: limitedBody(request), duplex: "half" } : {}),
  } as RequestInit);
}
