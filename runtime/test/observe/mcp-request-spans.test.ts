import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Api, startApi } from "../support/api-harness.ts";
import { deploySource, initializeRequest, inject, quickDatabase } from "../support/mcp.ts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "./otlp-receiver.ts";

// A node with OTEL_EXPORTER_OTLP_ENDPOINT set sends a span tree per MCP request to a local OTLP
// receiver: the request (continuing the caller's W3C traceparent), and under it auth, limits and
// the sandbox call, under which each fetch the tool made (timed in the shard, drawn here).

const FETCHER_SOURCE = `
import { defineServer, tool, z } from "isola";

export default defineServer({
  name: "fetcher",
  version: "1.0.0",
  description: "Fetches a host it may not reach",
  tools: {
    fetch_refused: tool({
      description: "Fetches a host that is not approved, and says what happened",
      input: z.object({}),
      async run() {
        try {
          await fetch("https://blocked.example.org/data");
          return "fetched";
        } catch (error) {
          return "refused: " + String(error);
        }
      },
    }),
  },
});
`;

const SERVER_SPAN = 2;
const CLIENT_SPAN = 3;
const ERROR = 2;

describe("OpenTelemetry spans of MCP requests", () => {
  let receiver: OtlpReceiver;
  let api: Api;
  let logs: string[];
  const traceId = randomBytes(16).toString("hex");
  const callerSpanId = randomBytes(8).toString("hex");
  let toolCall: { status: number; requestId: string | undefined; text: string };
  let refusedStatus: number;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    api = await startApi(quickDatabase(), {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "isola-under-test",
    });
    logs = api.logs;
    await deploySource(api.admin, "traced", FETCHER_SOURCE);
    await deploySource(api.admin, "keyed", FETCHER_SOURCE, { authMode: "api_key" });

    const opened = await inject(api.app, "/traced/mcp", { body: JSON.stringify(initializeRequest()) });
    const session = {
      "mcp-session-id": opened.headers["mcp-session-id"] as string,
      "mcp-protocol-version": "2025-11-25",
    };
    const answer = await inject(api.app, "/traced/mcp", {
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "fetch_refused", arguments: {} },
      }),
      headers: { ...session, traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    toolCall = {
      status: answer.status,
      requestId: answer.headers["x-request-id"],
      text: answer.json?.result?.content?.[0]?.text,
    };

    const refused = await inject(api.app, "/keyed/mcp", {
      body: JSON.stringify(initializeRequest()),
      headers: { authorization: "Bearer not-a-key" },
    });
    refusedStatus = refused.status;
    // Shutdown exports what the batch processor still holds.
    await api.close();
  }, 120_000);

  afterAll(async () => {
    await receiver?.close();
  });

  const childrenOf = (span: ReceivedSpan) => receiver.spans.filter((child) => child.parentSpanId === span.spanId);
  const only = (spans: ReceivedSpan[], name: string) => {
    const found = spans.filter((span) => span.name === name);
    expect(found, `spans named ${name}`).toHaveLength(1);
    return found[0] as ReceivedSpan;
  };

  it("answers the call itself as it would untraced", () => {
    expect(toolCall.status).toBe(200);
    expect(toolCall.text).toMatch(/^refused: .*blocked\.example\.org/);
    expect(receiver.strays).toEqual([]);
  });

  it("continues the caller's trace with a server span per request, named by method and tool", () => {
    const request = only(receiver.spans, "tools/call fetch_refused");
    expect(request.traceId).toBe(traceId);
    expect(request.parentSpanId).toBe(callerSpanId);
    expect(request.kind).toBe(SERVER_SPAN);
    expect(request.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/:slug/mcp",
      "isola.server": "traced",
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "fetch_refused",
      "isola.session.present": true,
      "isola.tool.outcome": "ok",
      "http.response.status_code": 200,
    });
    expect(request.status).not.toBe(ERROR);
    expect(request.resource["service.name"]).toBe("isola-under-test");
  });

  it("has auth, limits and the sandbox call as children, and the fetch under the sandbox call", () => {
    const request = only(receiver.spans, "tools/call fetch_refused");
    const children = childrenOf(request);
    expect(children.map((span) => span.name).sort()).toEqual(["auth", "limits", "sandbox call"]);
    const auth = only(children, "auth");
    expect(auth.attributes).toMatchObject({ "isola.auth.mode": "public", "isola.caller.kind": "anonymous" });
    expect(only(children, "limits").attributes["mcp.method.name"]).toBe("tools/call");
    const call = only(children, "sandbox call");
    expect(call.attributes).toMatchObject({ "gen_ai.tool.name": "fetch_refused", "isola.server.version": 1 });
    const [fetch] = childrenOf(call);
    expect(childrenOf(call)).toHaveLength(1);
    expect(fetch).toMatchObject({ name: "GET", kind: CLIENT_SPAN, traceId, status: ERROR });
    expect(fetch?.attributes).toMatchObject({
      "server.address": "blocked.example.org",
      "http.request.method": "GET",
      "error.type": expect.stringMatching(/^EGRESS_/),
    });
    // Timed in the shard, within the call that made it.
    expect(fetch?.startMs).toBeGreaterThanOrEqual(call.startMs - 1);
    expect(fetch?.endMs).toBeLessThanOrEqual(call.endMs + 1);
    expect(fetch?.endMs).toBeGreaterThanOrEqual(fetch?.startMs as number);
    for (const child of [...children, fetch]) {
      expect(child?.startMs).toBeGreaterThanOrEqual(request.startMs - 1);
      expect(child?.endMs).toBeLessThanOrEqual(request.endMs + 1);
    }
  });

  it("puts the trace id and the request id in the request's log line", () => {
    const line = logs
      .map((entry) => JSON.parse(entry))
      .find((entry) => entry.msg === "mcp request" && entry.access?.rpc === "tools/call");
    expect(line).toMatchObject({ traceId, reqId: toolCall.requestId });
  });

  it("marks a refused call's auth span as an error, and its request span with the refusal", () => {
    expect(refusedStatus).toBe(401);
    const refused = receiver.spans.filter(
      (span) => span.attributes["isola.server"] === "keyed" && span.kind === SERVER_SPAN,
    );
    expect(refused).toHaveLength(1);
    const request = refused[0] as ReceivedSpan;
    // A new trace: the request carried no traceparent.
    expect(request.traceId).not.toBe(traceId);
    expect(request.parentSpanId).toBeUndefined();
    expect(request.attributes).toMatchObject({
      "http.response.status_code": 401,
      "error.type": "unauthenticated",
      "isola.session.present": false,
    });
    const auth = only(childrenOf(request), "auth");
    expect(auth.status).toBe(ERROR);
    expect(auth.statusMessage).toMatch(/API key/);
    expect(auth.attributes).toMatchObject({ "isola.auth.mode": "api_key", "error.type": "unauthenticated" });
    // Refused before the limits and the sandbox.
    expect(childrenOf(request).map((span) => span.name)).toEqual(["auth"]);
  });
});
