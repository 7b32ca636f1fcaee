// A client of a build's event stream (GET /builds/{id}/events as Server-Sent Events) that reads
// the events as they arrive, for the tests and the build benchmark.

export interface SseMessage {
  id: string | undefined;
  event: string | undefined;
  data: string;
}

/** A build's event stream over a real socket, read as the events arrive. */
export interface EventStream {
  status: number;
  headers: Headers;
  /** The body, when the answer was not a stream. */
  body: unknown;
  /** The next event; undefined once the server ended the stream. */
  next(timeoutMs?: number): Promise<SseMessage | undefined>;
  /** Events until one of type `type` (included). */
  until(type: string, timeoutMs?: number): Promise<SseMessage[]>;
  /** Every event until the server ends the stream. */
  rest(timeoutMs?: number): Promise<SseMessage[]>;
  /** Hangs up. */
  close(): void;
}

export async function followEvents(
  baseUrl: string,
  token: string,
  buildId: string,
  { headers = {}, after }: { headers?: Record<string, string>; after?: number } = {},
): Promise<EventStream> {
  const hangUp = new AbortController();
  const query = after === undefined ? "" : `?after=${after}`;
  const response = await fetch(`${baseUrl}/api/v1/builds/${buildId}/events${query}`, {
    headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", ...headers },
    signal: hangUp.signal,
  });
  const streamed = (response.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (!streamed || !response.body) {
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
      next: async () => undefined,
      until: async () => [],
      rest: async () => [],
      close: () => {},
    };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let ended = false;
  const parse = (block: string): SseMessage | undefined => {
    const message: SseMessage = { id: undefined, event: undefined, data: "" };
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") message.id = value;
      else if (field === "event") message.event = value;
      else if (field === "data") data.push(value);
    }
    message.data = data.join("\n");
    // A comment alone (a heartbeat) is no event.
    return message.id === undefined && message.event === undefined && data.length === 0 ? undefined : message;
  };
  const next = async (timeoutMs = 20_000): Promise<SseMessage | undefined> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const split = buffer.indexOf("\n\n");
      if (split !== -1) {
        const block = buffer.slice(0, split);
        buffer = buffer.slice(split + 2);
        const message = parse(block);
        if (message) return message;
        continue;
      }
      if (ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event within ${timeoutMs} ms`);
      let timer: NodeJS.Timeout | undefined;
      const read = await Promise.race([
        reader.read(),
        new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), left);
        }),
      ]);
      clearTimeout(timer);
      if (read === "timeout") throw new Error(`no event within ${timeoutMs} ms`);
      if (read.done) ended = true;
      else buffer += read.value.replace(/\r\n?/g, "\n");
    }
  };
  return {
    status: response.status,
    headers: response.headers,
    body: undefined,
    next,
    async until(type, timeoutMs) {
      const seen: SseMessage[] = [];
      for (;;) {
        const message = await next(timeoutMs);
        if (!message) throw new Error(`the stream ended before a ${type} event: ${JSON.stringify(seen)}`);
        seen.push(message);
        if (message.event === type) return seen;
      }
    },
    async rest(timeoutMs) {
      const seen: SseMessage[] = [];
      for (let message = await next(timeoutMs); message; message = await next(timeoutMs)) seen.push(message);
      return seen;
    },
    close: () => hangUp.abort(),
  };
}
