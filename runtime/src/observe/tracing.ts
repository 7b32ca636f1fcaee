// The one seam between Isola's code and OpenTelemetry: the MCP pipeline calls this small
// interface, never the OTel API. Off (OTEL_EXPORTER_OTLP_ENDPOINT unset), it is NO_TRACING and
// no OTel package is even loaded; on, `startTracing` imports the SDK (otel-tracing.ts).
import type { FetchTiming } from "@isola/sandbox";
import type { ExportReport } from "./export-failures.ts";

/** Attribute values a span takes; undefined ones are left out. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** The span a piece of work runs in, as that work sees it. */
export interface SpanScope {
  /** The trace this span belongs to (for log lines); undefined when tracing is off. */
  readonly traceId: string | undefined;
  set(attributes: SpanAttributes): void;
  /** Names the span once what it did is known (`tools/call hello`). */
  rename(name: string): void;
  /** The work failed: `error.type` and an ERROR status with the message. */
  fail(kind: string, message?: string): void;
  /**
   * A finished child span whose times were measured elsewhere (a shard's fetches), in epoch
   * milliseconds; `error` makes it an ERROR span of that kind.
   */
  child(name: string, attributes: SpanAttributes, start: number, end: number, error?: string): void;
}

export interface Tracing {
  readonly enabled: boolean;
  /** A request's span (kind server), the child of the W3C `traceparent` of these headers when they carry one. */
  request<T>(
    name: string,
    headers: Record<string, string | string[] | undefined>,
    attributes: SpanAttributes,
    work: (span: SpanScope) => Promise<T>,
  ): Promise<T>;
  /** A child of the current span. A throw ends it as an error (its error name as `error.type`) and goes on. */
  span<T>(name: string, attributes: SpanAttributes, work: (span: SpanScope) => Promise<T>): Promise<T>;
  /** The current span (a request's, or a child's while its work runs); a no-op scope outside any. */
  current(): SpanScope;
  /** Exports what is buffered (bounded in time), then stops. */
  shutdown(): Promise<void>;
}

/** Where spans go: the standard OTLP variables, checked by the configuration schema. */
export interface TracingOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the receiver's base URL; spans are POSTed to `<endpoint>/v1/traces`. */
  endpoint: string;
  /** OTEL_EXPORTER_OTLP_PROTOCOL. */
  protocol: "http/protobuf" | "http/json";
  /** OTEL_SERVICE_NAME. */
  serviceName: string;
  /** Resource attributes that tell nodes apart (the roles this node serves). */
  attributes?: Record<string, string>;
  /** Time between two exports (the SDK's default: 5 s). */
  scheduledDelayMs?: number;
  /** Export failures and recoveries, rate-limited (export-failures.ts): for the node's log. */
  onExportReport?(report: ExportReport): void;
}

const NOOP_SCOPE: SpanScope = {
  traceId: undefined,
  set() {},
  rename() {},
  fail() {},
  child() {},
};

/** Tracing off: every piece of work runs as it is, with a scope that records nothing. */
export const NO_TRACING: Tracing = {
  enabled: false,
  request: (_name, _headers, _attributes, work) => work(NOOP_SCOPE),
  span: (_name, _attributes, work) => work(NOOP_SCOPE),
  current: () => NOOP_SCOPE,
  shutdown: async () => {},
};

/** The tracer the options ask for: the OTel SDK is loaded only when an endpoint is configured. */
export async function startTracing(options: TracingOptions | undefined): Promise<Tracing> {
  if (!options) return NO_TRACING;
  const { OtelTracing } = await import("./otel-tracing.ts");
  return OtelTracing.start(options);
}

/**
 * `error.type` of an MCP endpoint's refusal, by its HTTP status: a small fixed set, so that a
 * client cannot mint values. Anything else is its status class.
 */
export function refusalKind(status: number): string {
  const kinds: Record<number, string> = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
  };
  return (
    kinds[status] ??
    (Number.isInteger(status) && status >= 100 && status <= 599 ? `${Math.floor(status / 100)}xx` : "other")
  );
}

/**
 * A tool's fetches as client spans under its sandbox call: timed by the shard (no exporter runs
 * there), drawn here. A failed fetch (its EGRESS_* code) or a 5xx answer is an error span.
 */
export function fetchSpans(span: SpanScope, fetches: readonly FetchTiming[]): void {
  for (const fetch of fetches) {
    const error = fetch.error ?? (fetch.status !== undefined && fetch.status >= 500 ? String(fetch.status) : undefined);
    span.child(
      fetch.method,
      {
        "http.request.method": fetch.method,
        "server.address": fetch.host,
        "http.response.status_code": fetch.status,
      },
      fetch.start,
      fetch.end,
      error,
    );
  }
}
