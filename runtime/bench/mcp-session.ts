// An MCP session opened the way a client opens one: initialize, then notifications/initialized.
import { EXPECTED_TEXT, MCP_HEADERS } from "./load-client.ts";

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "isola-bench", version: "1.0.0" } },
});
const INITIALIZED = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });

/** Returns the session id the server gave, or throws with what it answered instead. */
export async function openSession(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, { method: "POST", headers: { ...MCP_HEADERS, ...headers }, body: INITIALIZE });
  const text = await response.text();
  const session = response.headers.get("mcp-session-id");
  if (response.status !== 200 || !session) throw new Error(`initialize at ${url}: ${response.status} ${text}`);
  const initialized = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...headers, "mcp-session-id": session },
    body: INITIALIZED,
  });
  await initialized.text();
  if (initialized.status !== 202) throw new Error(`notifications/initialized at ${url}: ${initialized.status}`);
  return session;
}

/** One tools/call of the trivial tool; throws unless it answers with the tool's text. */
export async function callHello(url: string, headers: Record<string, string>): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, ...headers },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "hello", arguments: { name: "bench" } },
    }),
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes(EXPECTED_TEXT) || text.includes('"isError":true'))
    throw new Error(`tools/call at ${url}: ${response.status} ${text.slice(0, 300)}`);
}
