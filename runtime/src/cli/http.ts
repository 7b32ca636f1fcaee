import { page, problemDetails } from "@isola/schema";
import type { z } from "zod";
import type { Credentials } from "./credentials.ts";
import { ApiError, CliError } from "./errors.ts";

type Query = Record<string, string | number | undefined>;

export interface Reply<T> {
  /** The answer, parsed by the route's zod schema (the contract). */
  data: T;
  /** The answer as the API sent it, for --json. */
  raw: unknown;
  etag: string | null;
}

interface RequestOptions {
  body?: unknown;
  query?: Query;
  headers?: Record<string, string>;
}

// Creating a version compiles and loads the code in a sandbox: seconds, rarely more.
const TIMEOUT_MS = 120_000;

/** A path with each interpolated value encoded as one segment: path`/servers/${slug}`. */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  return strings.map((part, i) => (i < values.length ? part + encodeURIComponent(values[i] ?? "") : part)).join("");
}

/** The REST API at `${url}/api/v1`, called with a personal access token. */
export class ApiClient {
  readonly url: string;
  readonly #token: string;

  constructor(credentials: Credentials) {
    this.url = credentials.url;
    this.#token = credentials.token;
  }

  /** Calls a route and parses its answer with `schema`; a problem+json answer throws ApiError. */
  async call<S extends z.ZodType>(
    method: string,
    route: string,
    schema: S,
    options: RequestOptions = {},
  ): Promise<Reply<z.output<S>>> {
    const { response, body } = await this.#fetch(method, route, options);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new CliError(
        `the answer to ${method} ${route} is not what this isola expects (${issue?.path.join(".") || "body"}: ${issue?.message}); are the command and the server the same version?`,
      );
    }
    return { data: parsed.data, raw: body, etag: response.headers.get("etag") };
  }

  /** Calls a route that answers 204 No Content. */
  async send(method: string, route: string, options: RequestOptions = {}): Promise<void> {
    await this.#fetch(method, route, options);
  }

  /** Every page of a list (the API's pages are at most 200 items), as one. */
  async list<S extends z.ZodType>(route: string, item: S, query: Query = {}) {
    const items: z.output<S>[] = [];
    const raw: unknown[] = [];
    let cursor: string | undefined;
    do {
      const reply = await this.call("GET", route, page(item), { query: { ...query, limit: 200, cursor } });
      items.push(...reply.data.items);
      raw.push(...(reply.raw as { items: unknown[] }).items);
      cursor = reply.data.next ?? undefined;
    } while (cursor);
    return { items, raw: { items: raw, next: null } };
  }

  /**
   * Opens a Server-Sent Events stream (no time limit: it lasts until it ends or `signal` aborts).
   * A problem+json answer throws ApiError.
   */
  async stream(
    route: string,
    options: { query?: Query; lastEventId?: string | undefined; signal: AbortSignal },
  ): Promise<ReadableStream<Uint8Array>> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (options.lastEventId !== undefined) headers["last-event-id"] = options.lastEventId;
    const response = await this.#open(
      "GET",
      route,
      { ...(options.query ? { query: options.query } : {}), headers },
      options.signal,
    );
    if (response.ok && response.body && response.headers.get("content-type")?.startsWith("text/event-stream")) {
      return response.body;
    }
    await this.#body("GET", response);
    throw new CliError(`GET ${new URL(response.url).pathname} did not answer with an event stream`);
  }

  async #fetch(method: string, route: string, options: RequestOptions): Promise<{ response: Response; body: unknown }> {
    const response = await this.#open(method, route, options, AbortSignal.timeout(TIMEOUT_MS));
    return { response, body: await this.#body(method, response) };
  }

  async #open(method: string, route: string, options: RequestOptions, signal: AbortSignal): Promise<Response> {
    const url = new URL(`${this.url}/api/v1${route}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: "application/json",
      ...options.headers,
    };
    // No content-type without a body: the API would refuse an empty JSON body.
    if (options.body !== undefined) headers["content-type"] = "application/json";
    try {
      return await fetch(url, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal,
      });
    } catch (error) {
      if ((error as Error).name === "TimeoutError") {
        throw new CliError(`no answer from ${this.url} within ${TIMEOUT_MS / 1000} s`);
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach Isola at ${this.url} (${cause?.code ?? cause?.message ?? (error as Error).message}); is it running?`,
      );
    }
  }

  /** The JSON body of a success; a problem+json answer throws ApiError. */
  async #body(method: string, response: Response): Promise<unknown> {
    const text = await response.text();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new CliError(`${this.url} answered ${response.status} without JSON; is it an Isola instance?`);
    }
    if (!response.ok) {
      const problem = problemDetails.safeParse(body);
      if (problem.success) throw new ApiError(problem.data);
      throw new CliError(
        `${method} ${new URL(response.url).pathname} answered ${response.status} ${response.statusText}`,
      );
    }
    return body;
  }
}
