// The official MCP SDK client connected to Isola's own MCP server (/_isola/mcp) of a listening
// test instance, with a personal access token; optionally answering elicitation forms.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  type ElicitRequestFormParams,
  ElicitRequestSchema,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import type { Api, Client as ApiClient } from "../support/api-harness.ts";

export const isolaMcpUrl = (api: Api) => `${api.url}/_isola/mcp`;

/** The bearer token a harness client sends. */
export const tokenOf = (client: ApiClient) => (client.headers.authorization ?? "").replace(/^Bearer /, "");

export interface IsolaClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Every form the server asked this client to show. */
  forms: ElicitRequestFormParams[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface IsolaClientOptions {
  /** Answers forms; without it the client does not declare elicitation. */
  elicit?: (params: ElicitRequestFormParams) => ElicitResult | Promise<ElicitResult>;
}

export async function connectIsola(api: Api, token: string, options: IsolaClientOptions = {}): Promise<IsolaClient> {
  const forms: ElicitRequestFormParams[] = [];
  const client = new Client(
    { name: "isola-mcp-test", version: "1.0.0" },
    { capabilities: options.elicit ? { elicitation: { form: {} } } : {} },
  );
  if (options.elicit) {
    const answer = options.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      // Isola asks with forms only (no URL mode yet).
      if (!("requestedSchema" in request.params)) throw new Error(`not a form: ${JSON.stringify(request.params)}`);
      forms.push(request.params);
      return answer(request.params);
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(isolaMcpUrl(api)), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return {
    client,
    transport,
    forms,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: () => client.close(),
  };
}

/** The text of a result's blocks, joined. */
export const textOf = (result: CallToolResult) =>
  result.content.map((block) => (block.type === "text" ? block.text : "")).join("\n");

/** A result's structured content (fails the test when it is an error). */
// biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON came back.
export function dataOf(result: CallToolResult): any {
  if (result.isError) throw new Error(`the tool failed: ${textOf(result)}`);
  return result.structuredContent;
}

/** A POST of one JSON-RPC message to the endpoint, without the SDK, to see the HTTP answer. */
export async function post(
  api: Api,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> | undefined }> {
  const response = await fetch(isolaMcpUrl(api), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json };
}

export const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};
