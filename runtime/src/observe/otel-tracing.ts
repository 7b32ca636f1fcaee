import { AsyncLocalStorage } from "node:async_hooks";
import { hostname } from "node:os";
import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { type ExportResult, ExportResultCode, W3CTraceContextPropagator } from "@opentelemetry/core";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, TracerProvider } from "@opentelemetry/sdk-trace";
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { ExportFailureLog, type ExportReport } from "./export-failures.ts";
import type { SpanAttributes, SpanScope, Tracing, TracingOptions } from "./tracing.ts";

/** What a shutdown waits for the last export at most: the drain has 9 s in all. */
const SHUTDOWN_MS = 2000;

const propagator = new W3CTraceContextPropagator();

function clean(attributes: SpanAttributes): Attributes {
  const kept: Attributes = {};
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) kept[name] = value;
  return kept;
}

/** The exporter of the configured protocol; only that one is loaded. */
async function exporterFor(options: TracingOptions): Promise<SpanExporter> {
  const url = `${options.endpoint.replace(/\/+$/, "")}/v1/traces`;
  // OTEL_EXPORTER_OTLP_HEADERS (credentials of a hosted collector) is read by the exporter itself.
  if (options.protocol === "http/json") {
    const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
    return new OTLPTraceExporter({ url });
  }
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-proto");
  return new OTLPTraceExporter({ url });
}

/** The exporter, with its failures told to the node's log (export-failures.ts) rather than lost. */
function reporting(exporter: SpanExporter, report: (line: ExportReport) => void): SpanExporter {
  const log = new ExportFailureLog();
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      exporter.export(spans, (result) => {
        const line =
          result.code === ExportResultCode.SUCCESS
            ? log.succeeded(Date.now())
            : log.failed(Date.now(), spans.length, String(result.error ?? "unknown error"));
        if (line) report(line);
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/**
 * Tracing on: an SDK TracerProvider of this node's own (nothing is registered globally, so two
 * nodes in one process, as in tests, keep their spans apart), a batch processor towards OTLP/HTTP,
 * and the current span carried through async work by an AsyncLocalStorage of its own.
 */
export class OtelTracing implements Tracing {
  readonly enabled = true;
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #current = new AsyncLocalStorage<Span>();

  private constructor(provider: TracerProvider) {
    this.#provider = provider;
    this.#tracer = provider.getTracer("isola");
  }

  static async start(options: TracingOptions): Promise<OtelTracing> {
    const exported = await exporterFor(options);
    const exporter = options.onExportReport ? reporting(exported, options.onExportReport) : exported;
    const provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: options.serviceName,
        "host.name": hostname(),
        "process.pid": process.pid,
        ...options.attributes,
      }),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          ...(options.scheduledDelayMs === undefined ? {} : { scheduledDelayMillis: options.scheduledDelayMs }),
        }),
      ],
    });
    return new OtelTracing(provider);
  }

  request<T>(
    name: string,
    headers: Record<string, string | string[] | undefined>,
    attributes: SpanAttributes,
    work: (span: SpanScope) => Promise<T>,
  ): Promise<T> {
    const parent = propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
    return this.#run(name, SpanKind.SERVER, attributes, parent, work);
  }

  span<T>(name: string, attributes: SpanAttributes, work: (span: SpanScope) => Promise<T>): Promise<T> {
    return this.#run(name, SpanKind.INTERNAL, attributes, this.#context(), work);
  }

  current(): SpanScope {
    const span = this.#current.getStore();
    return span ? this.#scope(span) : NO_SCOPE;
  }

  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#provider.shutdown().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  #context(): Context {
    const span = this.#current.getStore();
    return span ? trace.setSpan(ROOT_CONTEXT, span) : ROOT_CONTEXT;
  }

  async #run<T>(
    name: string,
    kind: SpanKind,
    attributes: SpanAttributes,
    parent: Context,
    work: (span: SpanScope) => Promise<T>,
  ): Promise<T> {
    const span = this.#tracer.startSpan(name, { kind, attributes: clean(attributes) }, parent);
    try {
      return await this.#current.run(span, () => work(this.#scope(span)));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      span.recordException(failure);
      // A coded error (SANDBOX_*, EGRESS_*) says more than its class.
      const code = (error as { code?: unknown }).code;
      span.setAttribute(ATTR_ERROR_TYPE, typeof code === "string" ? code : failure.name);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
      throw error;
    } finally {
      span.end();
    }
  }

  #scope(span: Span): SpanScope {
    const tracer = this.#tracer;
    return {
      traceId: span.spanContext().traceId,
      set: (attributes) => span.setAttributes(clean(attributes)),
      rename: (name) => span.updateName(name),
      fail: (kind, message) => {
        span.setAttribute(ATTR_ERROR_TYPE, kind);
        span.setStatus({ code: SpanStatusCode.ERROR, ...(message ? { message } : {}) });
      },
      child: (name, attributes, start, end, error) => {
        const child = tracer.startSpan(
          name,
          { kind: SpanKind.CLIENT, attributes: clean(attributes), startTime: start },
          trace.setSpan(ROOT_CONTEXT, span),
        );
        if (error) {
          child.setAttribute(ATTR_ERROR_TYPE, error);
          child.setStatus({ code: SpanStatusCode.ERROR, message: error });
        }
        child.end(end);
      },
    };
  }
}

const NO_SCOPE: SpanScope = { traceId: undefined, set() {}, rename() {}, fail() {}, child() {} };
