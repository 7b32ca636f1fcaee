import { createServer, request as httpRequest, type Server } from "node:http";
import type { Fleet, FleetNode } from "../../support/fleet.ts";
import { freePort } from "../../support/redis-server.ts";

// Which node answered a request that went through the fleet's balancer. A node's responses do not
// say who it is, and a drill must know (usage lost with a dead node is bounded by what that node
// served). So each balancer slot points at a small pass-through proxy of the drill's own that
// forwards to its node and adds `x-drill-node: <name>` to the answer, failures included.

export const NODE_HEADER = "x-drill-node";

interface Tag {
  name: string;
  target: string;
  server: Server;
  url: string;
}

export class NodeTags {
  readonly #fleet: Fleet;
  readonly #tags: Tag[] = [];

  private constructor(fleet: Fleet) {
    this.#fleet = fleet;
  }

  /** A tagging proxy in front of every node of `fleet`, the balancer pointed at them. */
  static async install(fleet: Fleet): Promise<NodeTags> {
    const tags = new NodeTags(fleet);
    for (const node of fleet.nodes) await tags.#open(node);
    return tags;
  }

  async #open(node: FleetNode): Promise<void> {
    const port = await freePort();
    const tag = { name: node.name, target: node.url, url: `http://127.0.0.1:${port}` } as Tag;
    tag.server = createServer((request, response) => {
      const outgoing = httpRequest(
        new URL(request.url ?? "/", tag.target),
        { method: request.method, headers: request.headers },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, { ...answer.headers, [NODE_HEADER]: tag.name });
          answer.pipe(response);
        },
      );
      outgoing.on("error", (error: NodeJS.ErrnoException) => {
        if (response.headersSent) return void response.destroy(error);
        response.writeHead(502, { "content-type": "application/json", [NODE_HEADER]: tag.name });
        response.end(JSON.stringify({ error: `node unreachable: ${error.code ?? error.message}` }));
      });
      response.on("close", () => outgoing.destroy());
      request.pipe(outgoing);
    });
    tag.server.requestTimeout = 0;
    await new Promise<void>((resolve) => tag.server.listen(port, "127.0.0.1", () => resolve()));
    this.#tags[node.index] = tag;
    this.#fleet.balancer.setUpstream(node.index, tag.url);
  }

  /** After `fleet.restart(node)` (which points the balancer at the new node itself): tag it again. */
  retarget(node: FleetNode): void {
    const tag = this.#tags[node.index];
    if (!tag) throw new Error(`no tag for node ${node.name}`);
    tag.target = node.url;
    this.#fleet.balancer.setUpstream(node.index, tag.url);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#tags.map((tag) => {
        tag.server.closeAllConnections();
        return new Promise<void>((resolve) => tag.server.close(() => resolve()));
      }),
    );
  }
}
