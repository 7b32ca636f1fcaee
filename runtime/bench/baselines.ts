// The baselines the MCP benchmark measures Isola against, in this process: the official SDK's
// Streamable HTTP server with the same tool as examples/hello (stateless, a new server and
// transport per request as the SDK's README shows; and stateful, one session), and a bare
// Fastify route answering a fixed JSON-RPC result (the floor: HTTP and JSON only).
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import Fastify from "fastify";
import { z } from "zod";
import { EXPECTED_TEXT } from "./load-client.ts";
import { openSession } from "./mcp-session.ts";

export interface Target {
  origin: string;
  path: string;
  /** Headers of each request: several entries spread the requests over several sessions. */
  headers: Record<string, string>[];
  close(): Promise<void>;
}

/** examples/hello, written against the SDK. */
function helloServer(): McpServer {
  const server = new McpServer({ name: "hello", version: "1.0.0" });
  server.registerTool(
    "hello",
    {
      description: "Greets someone by name",
      inputSchema: { name: z.string().min(1).describe("Who to greet") },
      annotations: { readOnlyHint: true },
    },
    async ({ name }) => ({ content: [{ type: "text", text: `Hello, ${name}!` }] }),
  );
  return server;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  return `http://127.0.0.1:${address.port}`;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `json`: the transport answers with a JSON body (enableJsonResponse) rather than with an SSE
 * stream (its default).
 */
export async function sdkStateless(options: { json: boolean }): Promise<Target> {
  const http = createServer((request: IncomingMessage, response: ServerResponse) => {
    const server = helloServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: options.json,
    });
    response.on("close", () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
  });
  const origin = await listen(http);
  return { origin, path: "/mcp", headers: [{}], close: () => closeServer(http) };
}

/** One server, one transport, one session that every connection uses. */
export async function sdkStateful(options: { json: boolean }): Promise<Target> {
  const server = helloServer();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: options.json,
  });
  await server.connect(transport);
  const http = createServer((request, response) => {
    transport.handleRequest(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  const origin = await listen(http);
  const session = await openSession(`${origin}/mcp`);
  return {
    origin,
    path: "/mcp",
    headers: [{ "mcp-session-id": session }],
    close: async () => {
      await closeServer(http);
      await server.close();
    },
  };
}

/** HTTP, JSON parsing and a JSON answer, nothing else: what any JSON-RPC server pays. */
export async function bareFastify(): Promise<Target> {
  const app = Fastify();
  const content = [{ type: "text", text: EXPECTED_TEXT }];
  app.post<{ Body: { id?: unknown } }>("/mcp", async (request) => ({
    jsonrpc: "2.0",
    id: request.body?.id ?? null,
    result: { content },
  }));
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  return { origin: `http://127.0.0.1:${address.port}`, path: "/mcp", headers: [{}], close: () => app.close() };
}
