// The official MCP SDK client connected to Isola's own MCP server (/_isola/mcp) of a listening
// test instance, with a personal access token; optionally answering elicitations (URL mode, as
// Isola asks for secrets; or form mode only, to see that Isola never sends a form).
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  type CallToolResult,
  ElicitationCompleteNotificationSchema,
  type ElicitRequestParams,
  ElicitRequestSchema,
  type ElicitRequestURLParams,
  type ElicitResult,
} from "@modelcontextprotocol/sdk/types.js";
import type { Api, Client as ApiClient } from "../support/api-harness.ts";

export const isolaMcpUrl = (api: Api) => `${api.url}/_isola/mcp`;

/** The bearer token a harness client sends. */
export const tokenOf = (client: ApiClient) => (client.headers.authorization ?? "").replace(/^Bearer /, "");

export interface IsolaClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  /** Every elicitation the server sent this client. */
  elicitations: ElicitRequestParams[];
  /** The elicitation ids of every notifications/elicitation/complete received. */
  completions: string[];
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

export interface IsolaClientOptions {
  /** Answers elicitations; without it the client does not declare elicitation. */
  elicit?: (params: ElicitRequestParams) => ElicitResult | Promise<ElicitResult>;
  /** The modes the client declares (with `elicit`): URL mode by default, as a client Isola can ask for secrets. */
  modes?: ("url" | "form")[];
}

export async function connectIsola(api: Api, token: string, options: IsolaClientOptions = {}): Promise<IsolaClient> {
  const elicitations: ElicitRequestParams[] = [];
  const completions: string[] = [];
  const modes = options.modes ?? ["url"];
  const client = new Client(
    { name: "isola-mcp-test", version: "1.0.0" },
    { capabilities: options.elicit ? { elicitation: Object.fromEntries(modes.map((mode) => [mode, {}])) } : {} },
  );
  if (options.elicit) {
    const answer = options.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      elicitations.push(request.params);
      return answer(request.params);
    });
  }
  client.setNotificationHandler(ElicitationCompleteNotificationSchema, (notification) => {
    completions.push(notification.params.elicitationId);
  });
  const transport = new StreamableHTTPClientTransport(new URL(isolaMcpUrl(api)), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return {
    client,
    transport,
    elicitations,
    completions,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    close: () => client.close(),
  };
}

/** The URL-mode elicitation's params (fails the test when it is not one). */
export function urlParams(params: ElicitRequestParams | undefined): ElicitRequestURLParams {
  if (params?.mode !== "url") throw new Error(`not a URL-mode elicitation: ${JSON.stringify(params)}`);
  return params;
}

/** The secret request's id in the page's URL. */
export const requestIdOf = (url: string) => new URL(url).pathname.replace(/^\/secret-requests\//, "");

/** POSTs the values to the secret request behind `url`, as the browser would for the signed-in user. */
export async function postValues(
  url: string,
  token: string,
  values: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const target = new URL(url);
  const response = await fetch(`${target.origin}/api/v1/secret-requests/${requestIdOf(url)}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ values }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** An elicitation handler that does what the user would: opens the page, enters the values (as `token`'s user), accepts. */
export const enterOnPage =
  (token: string, values: Record<string, string>) =>
  async (params: ElicitRequestParams): Promise<ElicitResult> => {
    const posted = await postValues(urlParams(params).url, token, values);
    if (posted.status !== 200) throw new Error(`the page's POST failed: ${JSON.stringify(posted)}`);
    return { action: "accept" };
  };

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
