/**
 * Request headers that are the transport's business, not tool code's: Node computes them, or
 * they would let a request smuggle a second one or switch protocols. Egress drops them; a
 * declarative tool may not set them (nor any proxy-* header).
 */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "content-length",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "keep-alive",
  "expect",
]);
