// A fake of the APIs and feeds the templates call: a plain-http server on loopback answering
// what each test sets for a method and path, recording every request it gets.
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  /** The path with its query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Reply {
  status?: number;
  /** A string is sent as it is; anything else as JSON. */
  body: unknown;
  type?: string;
}

export interface Upstream {
  port: number;
  requests: Recorded[];
  /** Answers `method path` (the path without its query) with `reply` until set again. */
  on(method: string, path: string, reply: Reply): void;
  /** The last request for a path. */
  last(path: string): Recorded;
  close(): Promise<void>;
}

/** A recorded payload from ./payloads. */
export const payload = (name: string) => readFileSync(new URL(`./payloads/${name}`, import.meta.url), "utf8");
export const jsonPayload = (name: string): unknown => JSON.parse(payload(name));

export async function startUpstream(): Promise<Upstream> {
  const routes = new Map<string, Reply>();
  const requests: Recorded[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = request.url ?? "/";
      const method = request.method ?? "GET";
      requests.push({ method, url, headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      const reply = routes.get(`${method} ${url.split("?")[0]}`) ?? {
        status: 404,
        body: { message: "Not Found (no reply set in the test)" },
      };
      const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      response.writeHead(reply.status ?? 200, {
        "content-type": reply.type ?? (typeof reply.body === "string" ? "text/plain" : "application/json"),
      });
      response.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    on: (method, path, reply) => void routes.set(`${method} ${path}`, reply),
    last(path) {
      const found = requests.findLast((request) => request.url.split("?")[0] === path);
      if (!found) throw new Error(`no request for ${path}; got ${requests.map((r) => r.url).join(", ")}`);
      return found;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
