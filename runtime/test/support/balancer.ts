import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";

// A test load balancer in front of a fleet: round robin over the nodes it believes up, as a
// platform's proxy would. It streams both ways (SSE stays open), keeps the client's Host (so a
// node sees the public host, as behind a real proxy), and never retries a request itself: a
// node that refuses the connection is marked down and the client gets a 502, as from a real one.
// Retrying is the client's business, which is what the failure drills measure.

export interface Upstream {
  url: string;
  up: boolean;
  /** Requests this balancer sent it. */
  served: number;
}

export class Balancer {
  readonly upstreams: Upstream[];
  #next = 0;
  #server: Server | undefined;
  url = "";

  constructor(urls: string[]) {
    this.upstreams = urls.map((url) => ({ url, up: true, served: 0 }));
  }

  static async listen(port: number, urls: string[] = []): Promise<Balancer> {
    const balancer = new Balancer(urls);
    const server = createServer((request, response) => balancer.#forward(request, response));
    // SSE streams stay open for minutes; the proxy must not time them out.
    server.requestTimeout = 0;
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    balancer.#server = server;
    balancer.url = `http://127.0.0.1:${port}`;
    return balancer;
  }

  /** Adds a node or points an existing slot at a restarted node, and marks it up. */
  setUpstream(index: number, url: string): void {
    this.upstreams[index] = { url, up: true, served: this.upstreams[index]?.served ?? 0 };
  }

  markDown(index: number): void {
    const upstream = this.upstreams[index];
    if (upstream) upstream.up = false;
  }

  #pick(): Upstream | undefined {
    for (let tried = 0; tried < this.upstreams.length; tried++) {
      const upstream = this.upstreams[this.#next++ % this.upstreams.length];
      if (upstream?.up) return upstream;
    }
    return undefined;
  }

  #forward(request: IncomingMessage, response: ServerResponse): void {
    const upstream = this.#pick();
    if (!upstream) {
      response.writeHead(503, { "content-type": "application/json" }).end('{"error":"no node is up"}');
      return;
    }
    upstream.served++;
    const target = new URL(request.url ?? "/", upstream.url);
    const outgoing = httpRequest(target, { method: request.method, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") upstream.up = false;
      if (!response.headersSent) {
        response.writeHead(502, { "content-type": "application/json" });
        response.end(JSON.stringify({ error: `node unreachable: ${error.code ?? error.message}` }));
      } else {
        response.destroy(error);
      }
    });
    // The client going away (a cancelled stream) closes the upstream request too.
    response.on("close", () => outgoing.destroy());
    request.pipe(outgoing);
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
