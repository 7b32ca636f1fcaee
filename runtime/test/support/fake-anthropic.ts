// A fake of the Anthropic Messages API for tests: a real HTTP server on 127.0.0.1 that speaks
// the wire format (POST /v1/messages, JSON or SSE when the request says `stream: true`) and
// answers from recorded, realistic messages (recorded/*.json) or with the failures a test
// cues: 429 with retry-after, 500, 529, an error event or a cut connection mid-stream, a slow
// answer. It records every request it got. Point the SDK at it with ANTHROPIC_BASE_URL.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** A Messages API response body (type "message"), as recorded. */
export interface FakeMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: FakeBlock[];
  stop_reason: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence" | "refusal" | "pause_turn";
  stop_sequence: string | null;
  usage: { input_tokens: number; output_tokens: number; [counter: string]: unknown };
}

export type FakeBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

/** What the fake does with one request. */
export type FakeAnswer =
  /** The message, streamed when the request asked for a stream. */
  | { kind: "message"; message: FakeMessage }
  /** An error status with the API's error body; `headers` e.g. retry-after. */
  | { kind: "error"; status: number; type: string; message: string; headers?: Record<string, string> }
  /** Streams the first `afterEvents` events of the message, then destroys the connection. */
  | { kind: "cut"; message: FakeMessage; afterEvents: number }
  /** Streams the first `afterEvents` events, then an SSE `error` event (how the API reports overload mid-stream). */
  | { kind: "stream-error"; message: FakeMessage; afterEvents: number; type: string }
  /** Waits before answering (before the status line: the client sees nothing at all). */
  | { kind: "slow"; delayMs: number; then: FakeAnswer };

export interface FakeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON body. */
  body: Record<string, unknown>;
  /** The raw body, to search for what must not be there. */
  raw: string;
}

export interface FakeAnthropic {
  /** http://127.0.0.1:PORT, for ANTHROPIC_BASE_URL. */
  url: string;
  requests: FakeRequest[];
  /** Answers for the next requests, in order. */
  queue(...answers: FakeAnswer[]): void;
  /** Answers requests once the queue is empty; without it, such requests get a 500 saying so. */
  respond(answer: ((request: FakeRequest) => FakeAnswer) | undefined): void;
  /** Answers queued and not used yet. */
  pending(): number;
  close(): Promise<void>;
}

const RECORDED = new URL("./recorded/", import.meta.url);

/** A recorded message by file name (without .json); a fresh copy each time. */
export function recorded(name: string): FakeMessage {
  return JSON.parse(readFileSync(new URL(`${name}.json`, RECORDED), "utf8")) as FakeMessage;
}

/** The message with its tool call's input replaced (invalid output on cue). */
export function withToolInput(message: FakeMessage, input: Record<string, unknown>): FakeMessage {
  return { ...message, content: message.content.map((b) => (b.type === "tool_use" ? { ...b, input } : b)) };
}

/** The input of the message's tool call (what the model answered with). */
export function toolInputOf(message: FakeMessage): Record<string, unknown> {
  const block = message.content.find((b) => b.type === "tool_use");
  if (!block) throw new Error(`message ${message.id} has no tool call`);
  return (block as { input: Record<string, unknown> }).input;
}

/** A plain text answer (what ctx.llm-style completions get). */
export function textMessage(text: string, model = "claude-sonnet-5-5"): FakeMessage {
  return {
    id: `msg_${randomBytes(12).toString("hex")}`,
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: 12, output_tokens: Math.max(1, Math.ceil(text.length / 4)) },
  };
}

/** Cues for the usual answers. */
export const answer = {
  message: (message: FakeMessage | string): FakeAnswer => ({
    kind: "message",
    message: typeof message === "string" ? recorded(message) : message,
  }),
  rateLimited: (retryAfterSeconds = 1): FakeAnswer => ({
    kind: "error",
    status: 429,
    type: "rate_limit_error",
    message: "Number of request tokens has exceeded your per-minute rate limit",
    headers: { "retry-after": String(retryAfterSeconds), "anthropic-ratelimit-requests-remaining": "0" },
  }),
  serverError: (): FakeAnswer => ({ kind: "error", status: 500, type: "api_error", message: "Internal server error" }),
  overloaded: (): FakeAnswer => ({ kind: "error", status: 529, type: "overloaded_error", message: "Overloaded" }),
  cut: (message: FakeMessage | string, afterEvents = 6): FakeAnswer => ({
    kind: "cut",
    message: typeof message === "string" ? recorded(message) : message,
    afterEvents,
  }),
  streamError: (message: FakeMessage | string, afterEvents = 4, type = "overloaded_error"): FakeAnswer => ({
    kind: "stream-error",
    message: typeof message === "string" ? recorded(message) : message,
    afterEvents,
    type,
  }),
  slow: (delayMs: number, then: FakeAnswer): FakeAnswer => ({ kind: "slow", delayMs, then }),
};

const requestId = () => `req_${randomBytes(12).toString("hex")}`;

function errorBody(type: string, message: string) {
  return JSON.stringify({ type: "error", error: { type, message }, request_id: requestId() });
}

function sendError(response: ServerResponse, status: number, type: string, message: string, headers = {}) {
  response.writeHead(status, { "content-type": "application/json", "request-id": requestId(), ...headers });
  response.end(errorBody(type, message));
}

/** Splits text the way the API streams it: a few words per delta. */
function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length > 0 ? out : [""];
}

/** The SSE events the API sends for a message, in order. */
export function streamEvents(message: FakeMessage): { event: string; data: unknown }[] {
  const start = { ...message, content: [], stop_reason: null, stop_sequence: null };
  const events: { event: string; data: unknown }[] = [
    {
      event: "message_start",
      data: { type: "message_start", message: { ...start, usage: { ...message.usage, output_tokens: 1 } } },
    },
  ];
  message.content.forEach((block, index) => {
    const delta = (d: unknown) => ({
      event: "content_block_delta",
      data: { type: "content_block_delta", index, delta: d },
    });
    if (block.type === "text") {
      events.push({
        event: "content_block_start",
        data: { type: "content_block_start", index, content_block: { type: "text", text: "" } },
      });
      for (const text of chunks(block.text, 24)) events.push(delta({ type: "text_delta", text }));
    } else if (block.type === "thinking") {
      const empty = { type: "thinking", thinking: "", signature: "" };
      events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: empty } });
      for (const thinking of chunks(block.thinking, 48)) events.push(delta({ type: "thinking_delta", thinking }));
      events.push(delta({ type: "signature_delta", signature: block.signature }));
    } else {
      const empty = { type: "tool_use", id: block.id, name: block.name, input: {} };
      events.push({ event: "content_block_start", data: { type: "content_block_start", index, content_block: empty } });
      for (const partial_json of chunks(JSON.stringify(block.input), 96)) {
        events.push(delta({ type: "input_json_delta", partial_json }));
      }
    }
    events.push({ event: "content_block_stop", data: { type: "content_block_stop", index } });
    if (index === 0) events.push({ event: "ping", data: { type: "ping" } });
  });
  events.push(
    {
      event: "message_delta",
      data: {
        type: "message_delta",
        delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
        usage: { output_tokens: message.usage.output_tokens },
      },
    },
    { event: "message_stop", data: { type: "message_stop" } },
  );
  return events;
}

const sse = (e: { event: string; data: unknown }) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;

export async function startFakeAnthropic(): Promise<FakeAnthropic> {
  const requests: FakeRequest[] = [];
  const answers: FakeAnswer[] = [];
  let fallback: ((request: FakeRequest) => FakeAnswer) | undefined;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const play = (fake: FakeAnswer, request: FakeRequest, response: ServerResponse): void => {
    if (fake.kind === "slow") {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!response.destroyed) play(fake.then, request, response);
      }, fake.delayMs);
      timers.add(timer);
      return;
    }
    if (fake.kind === "error") {
      sendError(response, fake.status, fake.type, fake.message, fake.headers);
      return;
    }
    // The model in the answer is the one asked for, as the API does.
    const message = { ...fake.message, model: String(request.body.model) };
    if (request.body.stream !== true) {
      response.writeHead(200, { "content-type": "application/json", "request-id": requestId() });
      response.end(JSON.stringify(message));
      return;
    }
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "request-id": requestId(),
    });
    const events = streamEvents(message);
    if (fake.kind === "message") {
      response.end(events.map(sse).join(""));
    } else if (fake.kind === "cut") {
      // Everything up to the cut reaches the client, then the connection drops without an end.
      response.write(events.slice(0, fake.afterEvents).map(sse).join(""), () => response.socket?.destroy());
    } else {
      const error = { type: "error", error: { type: fake.type, message: "Overloaded" } };
      response.end(events.slice(0, fake.afterEvents).map(sse).join("") + sse({ event: "error", data: error }));
    }
  };

  const server = createServer((incoming: IncomingMessage, response: ServerResponse) => {
    const parts: Buffer[] = [];
    incoming.on("data", (part: Buffer) => parts.push(part));
    incoming.on("end", () => {
      const raw = Buffer.concat(parts).toString("utf8");
      let body: Record<string, unknown> = {};
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        return sendError(response, 400, "invalid_request_error", "the body is not JSON");
      }
      const request: FakeRequest = {
        method: incoming.method ?? "",
        path: incoming.url ?? "",
        headers: incoming.headers,
        body,
        raw,
      };
      requests.push(request);
      if (request.method !== "POST" || request.path.split("?")[0] !== "/v1/messages") {
        return sendError(response, 404, "not_found_error", `${request.method} ${request.path} is not served here`);
      }
      const authorization = incoming.headers.authorization ?? "";
      if (!incoming.headers["x-api-key"] && !/^Bearer \S+/.test(authorization)) {
        return sendError(response, 401, "authentication_error", "invalid x-api-key");
      }
      if (!incoming.headers["anthropic-version"]) {
        return sendError(response, 400, "invalid_request_error", "anthropic-version: header is required");
      }
      for (const field of ["model", "max_tokens", "messages"]) {
        if (body[field] === undefined)
          return sendError(response, 400, "invalid_request_error", `${field}: Field required`);
      }
      const next = answers.shift() ?? fallback?.(request);
      if (!next) return sendError(response, 500, "api_error", "the fake has no answer queued for this request");
      play(next, request, response);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    queue: (...more) => {
      answers.push(...more);
    },
    respond: (answerFor) => {
      fallback = answerFor;
    },
    pending: () => answers.length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
