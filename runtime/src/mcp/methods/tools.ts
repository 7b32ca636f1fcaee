import { type FetchTiming, SandboxError, type SandboxErrorCode } from "@isola/sandbox";
import type { ManifestTool, UsageOutcome } from "@isola/schema";
import { CallToolRequestSchema, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { fetchSpans } from "../../observe/tracing.ts";
import { scopeShortfall, shortfallMessage } from "../auth/tool-scopes.ts";
import type { Caller, Method, MethodContext, RuntimeDeps } from "../context.ts";
import { JSONRPC_ERRORS, JsonRpcError, type JsonRpcRequest } from "../protocol/jsonrpc.ts";
import type { ServerRecord } from "../server-directory.ts";
import { LOG_LEVELS } from "../session-store.ts";
import { pageOf } from "./pagination.ts";

/**
 * A tool as MCP clients see it: the manifest's `scopes` is Isola's, not a field of MCP's Tool,
 * so it stays out (clients learn scopes where the spec tells them to look: the protected
 * resource metadata and the 403 challenge of a call that needs more).
 */
export function listedTool({ scopes: _scopes, ...tool }: ManifestTool): Omit<ManifestTool, "scopes"> {
  return tool;
}

export const listTools: Method = async ({ server, request }) => {
  const tools = server.version?.manifest.tools ?? [];
  const { page, nextCursor } = pageOf(tools, request.params?.cursor, server.version?.id ?? "");
  return { tools: page.map(listedTool), ...(nextCursor ? { nextCursor } : {}) };
};

// Validators are compiled once per schema (many versions and servers share one: the same code
// deployed again), and found per version and tool without serialising the schema on every call.
// Ajv keeps every schema it compiled: a fresh instance when the caches are dropped frees them.
const newAjv = () => new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
let ajv = newAjv();
const bySchema = new Map<string, ValidateFunction>();
const byTool = new Map<string, ValidateFunction>();

function validatorFor(versionId: string, tool: ManifestTool): ValidateFunction {
  const key = `${versionId}\u0000${tool.name}`;
  let validate = byTool.get(key);
  if (!validate) {
    if (byTool.size > 20_000 || bySchema.size > 5_000) {
      byTool.clear();
      bySchema.clear();
      ajv = newAjv();
    }
    const schema = JSON.stringify(tool.inputSchema);
    validate = bySchema.get(schema) ?? ajv.compile(tool.inputSchema);
    bySchema.set(schema, validate);
    byTool.set(key, validate);
  }
  return validate;
}

const toolError = (text: string) => ({ content: [{ type: "text", text }], isError: true });

/** How a sandbox failure counts in usage. */
const OUTCOMES: Partial<Record<SandboxErrorCode, UsageOutcome>> = {
  SANDBOX_CPU_LIMIT: "timeout",
  SANDBOX_WALL_TIMEOUT: "timeout",
  SANDBOX_MEMORY_LIMIT: "crash",
  SANDBOX_RESET: "crash",
  SANDBOX_CRASHED: "crash",
  SANDBOX_QUARANTINED: "crash",
  SANDBOX_LOAD_FAILED: "crash",
  SANDBOX_INTERNAL: "crash",
  SANDBOX_BUSY: "limit",
};

const LEVEL_RANK = Object.fromEntries(LOG_LEVELS.map((level, rank) => [level, rank])) as Record<string, number>;

/** The MCP side of a tool call: notifications, client requests, and what tool code sees. */
function callHandlers(context: MethodContext, tool: string) {
  const { deps, server, session, caller, request, responder } = context;
  const progressToken = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
  const threshold = LEVEL_RANK[session.logLevel ?? "info"] ?? 1;
  const capabilities = session.clientCapabilities as { sampling?: unknown; elicitation?: unknown };
  return {
    onLog(level: "debug" | "info" | "warning" | "error", message: string, data?: unknown) {
      if ((LEVEL_RANK[level] ?? 0) < threshold) return;
      void responder.send({
        jsonrpc: "2.0",
        method: "notifications/message",
        params: { level, logger: server.slug, data: data === undefined ? message : { message, data } },
      });
    },
    onProgress(done: number, total: number | undefined, message: string | undefined) {
      // Only for a request that asked (a progress token), echoed exactly as sent.
      if (typeof progressToken !== "string" && typeof progressToken !== "number") return;
      void responder.send({
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: {
          progressToken,
          progress: done,
          ...(total === undefined ? {} : { total }),
          ...(message ? { message } : {}),
        },
      });
    },
    async onClientRequest(kind: "sample" | "elicit", params: unknown) {
      const method = kind === "sample" ? "sampling/createMessage" : "elicitation/create";
      if (!(kind === "sample" ? capabilities.sampling : capabilities.elicitation)) {
        throw new Error(`the client does not support ${kind === "sample" ? "sampling" : "elicitation"}`);
      }
      deps.logs.write(server.id, {
        level: "debug",
        source: "runtime",
        message: `${method} sent to the client`,
        tool,
        caller: caller.label,
      });
      return deps.relay.ask(
        session.id,
        (message) => responder.send(message),
        method,
        params as Record<string, unknown>,
        {
          timeoutMs: 120_000,
          signal: context.signal,
        },
      );
    },
  };
}

/**
 * How usage names the tool of a call: the name when the server has that tool, else one fixed
 * label, so that a client inventing names cannot fill the recorder with rows of its own.
 */
export const UNKNOWN_TOOL = "(unknown)";
export function toolLabel(server: ServerRecord, name: unknown): string {
  return server.version?.manifest.tools.some((tool) => tool.name === name) ? (name as string) : UNKNOWN_TOOL;
}

/** A tools/call refused before it reached the tool (bad params, unknown tool, a limit): counted, never run. */
export function recordRefusedCall(
  deps: Pick<RuntimeDeps, "usage">,
  server: ServerRecord,
  caller: Caller,
  request: JsonRpcRequest,
  outcome: UsageOutcome,
): void {
  deps.usage.record({
    serverId: server.id,
    slug: server.slug,
    orgId: server.orgId,
    version: server.version?.number ?? 0,
    tool: toolLabel(server, request.params?.name),
    caller: caller.label,
    outcome,
    durationMs: 0,
    bytesIn: Buffer.byteLength(JSON.stringify(request.params?.arguments ?? {})),
    bytesOut: 0,
    at: new Date(),
  });
}

export const callTool: Method = async (context) => {
  const { deps, server, caller, request, signal } = context;
  const parsed = CallToolRequestSchema.safeParse(request);
  const version = server.version;
  const name = parsed.success ? parsed.data.params.name : undefined;
  const tool = version?.manifest.tools.find((t) => t.name === name);
  if (!parsed.success || !version || !tool || name === undefined) {
    recordRefusedCall(deps, server, caller, request, "protocol_error");
    throw new JsonRpcError(
      JSONRPC_ERRORS.invalidParams,
      parsed.success ? `Unknown tool: ${name}` : "tools/call needs params.name (and params.arguments as an object)",
    );
  }
  // The endpoint answered a missing scope with 403 before this point (checkToolScopes); this
  // keeps a tool closed to such a caller on any path that would skip it.
  const shortfall = scopeShortfall(caller, tool);
  if (shortfall) throw new JsonRpcError(JSONRPC_ERRORS.serverError, shortfallMessage(shortfall));
  const args = parsed.data.params.arguments ?? {};

  const started = performance.now();
  const bytesIn = Buffer.byteLength(JSON.stringify(args));
  let outcome: UsageOutcome = "ok";
  let result: Record<string, unknown> | undefined;
  /** The sandbox's failure was logged as an error line: the call's own line would repeat it. */
  let sandboxFailed = false;
  try {
    const validate = validatorFor(version.id, tool);
    if (!validate(args)) {
      // Input validation is a tool execution error (SEP-1303): the model can read it and retry.
      outcome = "tool_error";
      result = toolError(`Invalid arguments: ${ajv.errorsText(validate.errors, { dataVar: "arguments" })}`);
    } else {
      const declared = new Set(version.manifest.egress);
      const env = await deps.secretsFor(server.id);
      const value = await deps.tracing.span(
        "sandbox call",
        { "gen_ai.tool.name": name, "isola.server.version": version.number },
        (span) =>
          deps.sandbox.call({
            server: { id: server.id, hash: version.hash },
            kind: "tool",
            target: name,
            args,
            env,
            user: caller.user,
            egress: { allowedHosts: server.egressApproved.filter((host) => declared.has(host)), ...deps.egress },
            limits: { memoryMb: server.plan.memoryMb },
            signal,
            ...callHandlers(context, name),
            // Only a traced call asks the shard for its fetches' timings: a child span each.
            ...(deps.tracing.enabled ? { onFetches: (fetches: FetchTiming[]) => fetchSpans(span, fetches) } : {}),
          }),
      );
      const checked = CallToolResultSchema.safeParse(value);
      // The host does not trust what comes out of an isolate.
      result = checked.success
        ? (checked.data as Record<string, unknown>)
        : toolError("the tool returned a result that is not a valid MCP result");
      if (result.isError === true) outcome = "tool_error";
    }
  } catch (error) {
    if (!(error instanceof SandboxError)) {
      outcome = "crash";
      throw error;
    }
    if (error.code === "SANDBOX_CANCELLED") {
      outcome = "protocol_error";
      throw new JsonRpcError(JSONRPC_ERRORS.serverError, error.message);
    }
    outcome = OUTCOMES[error.code] ?? "tool_error";
    sandboxFailed = true;
    deps.logs.write(server.id, {
      level: "error",
      source: "runtime",
      message: error.message,
      tool: name,
      caller: caller.label,
    });
    result = toolError(error.message);
  } finally {
    deps.tracing.current().set({ "isola.tool.outcome": outcome });
    const durationMs = performance.now() - started;
    // One line a call, like an access log: the live tail shows each call as it is answered.
    if (!sandboxFailed && (outcome === "ok" || outcome === "tool_error")) {
      deps.logs.write(server.id, {
        level: outcome === "ok" ? "info" : "warning",
        source: "runtime",
        message: `${name} ${outcome === "ok" ? "answered" : "answered with an error"} in ${Math.round(durationMs)} ms`,
        tool: name,
        caller: caller.label,
      });
    }
    deps.usage.record({
      serverId: server.id,
      slug: server.slug,
      orgId: server.orgId,
      version: version.number,
      tool: name,
      caller: caller.label,
      outcome,
      durationMs,
      bytesIn,
      bytesOut: result ? Buffer.byteLength(JSON.stringify(result)) : 0,
      at: new Date(),
    });
  }
  return result;
};
