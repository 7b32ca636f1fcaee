// Reading text/event-stream (Server-Sent Events) as the WHATWG HTML standard defines it, for
// the commands that follow a stream (isola logs --follow).

export interface StreamEvent {
  /** The last id the stream set, by this event or an earlier one (what a reconnect sends as Last-Event-ID). */
  id: string | undefined;
  /** The event's type: "message" unless it named one. */
  event: string;
  data: string;
}

/** Turns chunks of text into complete events; a partial line or event waits for the next chunk. */
export class EventStreamParser {
  #buffer = "";
  #data: string[] = [];
  #event = "";
  #id: string | undefined;

  push(text: string): StreamEvent[] {
    this.#buffer += text;
    const events: StreamEvent[] = [];
    // A line ends at CRLF, LF or CR; a CR at the very end may be half of a CRLF still to come.
    const lines = this.#buffer.split(/\r\n|\n|\r(?!$)/);
    this.#buffer = lines.pop() ?? "";
    for (const line of lines) {
      const event = this.#line(line);
      if (event) events.push(event);
    }
    return events;
  }

  #line(line: string): StreamEvent | undefined {
    if (line === "") {
      const data = this.#data;
      const event = this.#event || "message";
      this.#data = [];
      this.#event = "";
      // The id is not reset: an event without one still carries the last id seen.
      return data.length === 0 ? undefined : { id: this.#id, event, data: data.join("\n") };
    }
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "data") this.#data.push(value);
    else if (field === "event") this.#event = value;
    else if (field === "id" && !value.includes("\u0000")) this.#id = value;
    return undefined;
  }
}

/** The events of a response body, until it ends; stopping early cancels the body. */
export async function* readEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<StreamEvent> {
  const parser = new EventStreamParser();
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.push(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
