import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseConfig } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { NO_TRACING, refusalKind, type SpanScope, startTracing } from "../../src/observe/tracing.ts";
import { startOtlpReceiver } from "./otlp-receiver.ts";

const TRACING = fileURLToPath(new URL("../../src/observe/tracing.ts", import.meta.url));

/**
 * In a fresh Node process: starts tracing with `options`, runs a span, shuts down, and prints
 * which modules under @opentelemetry were resolved meanwhile (module.registerHooks sees every import).
 */
async function loadedOtelModules(options: unknown): Promise<string[]> {
  const script = `
    import { registerHooks } from "node:module";
    const seen = [];
    registerHooks({ resolve(specifier, context, next) {
      if (specifier.includes("@opentelemetry/")) seen.push(specifier);
      return next(specifier, context);
    } });
    const { startTracing } = await import(${JSON.stringify(TRACING)});
    const tracing = await startTracing(${JSON.stringify(options)});
    await tracing.span("work", {}, async () => {});
    await tracing.shutdown();
    console.log(JSON.stringify(seen));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
    timeout: 20_000,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) as string) as string[];
}

describe("tracing off", () => {
  it("loads no OpenTelemetry package without an endpoint, and the SDK with one", async () => {
    expect(await loadedOtelModules(undefined)).toEqual([]);
    const receiver = await startOtlpReceiver();
    try {
      const loaded = await loadedOtelModules({
        endpoint: receiver.url,
        protocol: "http/json",
        serviceName: "isola",
      });
      expect(loaded).toContain("@opentelemetry/sdk-trace");
      expect(loaded).toContain("@opentelemetry/exporter-trace-otlp-http");
      // Only the exporter of the configured protocol.
      expect(loaded).not.toContain("@opentelemetry/exporter-trace-otlp-proto");
      expect(receiver.spans.map((span) => span.name)).toEqual(["work"]);
    } finally {
      await receiver.close();
    }
  });

  it("is NO_TRACING: work runs as it is, with a scope that records nothing", async () => {
    const tracing = await startTracing(undefined);
    expect(tracing).toBe(NO_TRACING);
    expect(tracing.enabled).toBe(false);
    let seen: SpanScope | undefined;
    const value = await tracing.request("r", { traceparent: "00-x" }, {}, async (span) => {
      seen = span;
      return tracing.span("child", {}, async () => 42);
    });
    expect(value).toBe(42);
    expect(seen?.traceId).toBeUndefined();
    expect(tracing.current().traceId).toBeUndefined();
    await expect(tracing.span("failing", {}, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });

  it("sends nothing when the configuration has no endpoint", () => {
    const parsed = parseConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_SERVICE_NAME: "x" });
    expect(parsed.ok && parsed.config.otlp).toBeUndefined();
  });
});

describe("tracing configuration", () => {
  it.each([
    ["http://collector:4318", { endpoint: "http://collector:4318", protocol: "http/protobuf", serviceName: "isola" }],
    [
      "https://otlp.example.com/",
      { endpoint: "https://otlp.example.com/", protocol: "http/protobuf", serviceName: "isola" },
    ],
  ])("accepts %s", (endpoint, expected) => {
    const parsed = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(parsed.ok && parsed.config.otlp).toEqual(expected);
  });

  it("takes the protocol and the service name", () => {
    const parsed = parseConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "isola-eu",
    });
    expect(parsed.ok && parsed.config.otlp).toEqual({
      endpoint: "http://collector:4318",
      protocol: "http/json",
      serviceName: "isola-eu",
    });
  });

  it.each([
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://user:hunter2@collector:4317"],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector/?token=hunter2"],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "not a url hunter2"],
  ])("refuses %s=%s with a message that names what it expects and does not echo the value", (name, value) => {
    const parsed = parseConfig({ [name]: value });
    expect(parsed.ok).toBe(false);
    const errors = parsed.ok ? [] : parsed.errors;
    expect(errors).toEqual([expect.stringMatching(/^OTEL_EXPORTER_OTLP_ENDPOINT: expected the http\(s\) base URL/)]);
    expect(errors.join()).not.toContain("hunter2");
  });

  it("refuses a protocol it has no exporter for", () => {
    const parsed = parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
    expect(parsed.ok ? [] : parsed.errors).toEqual([
      'OTEL_EXPORTER_OTLP_PROTOCOL: expected http/protobuf or http/json (grpc is not supported), got "grpc"',
    ]);
  });
});

describe("refusalKind", () => {
  it.each([
    [401, "unauthenticated"],
    [403, "forbidden"],
    [404, "not_found"],
    [429, "rate_limited"],
    [503, "unavailable"],
    [418, "4xx"],
    [502, "5xx"],
    [0, "other"],
    [999, "other"],
  ])("%i is %s", (status, kind) => {
    expect(refusalKind(status)).toBe(kind);
  });
});
