import type { EgressPolicy, SandboxSupervisor } from "@isola/sandbox";
import type { Bus, Config, ServerLogs } from "@isola/schema";
import type { Tracing } from "../observe/tracing.ts";
import type { UsageRecorder } from "../usage/recorder.ts";
import type { JwtVerifier } from "./auth/jwt.ts";
import type { Limits } from "./limits.ts";
import type { JsonRpcRequest } from "./protocol/jsonrpc.ts";
import type { SessionRelay } from "./relay.ts";
import type { Responder } from "./responder.ts";
import type { ServerDirectory, ServerRecord } from "./server-directory.ts";
import type { Session, SessionStore } from "./session-store.ts";

/** Who is calling a server's MCP endpoint. */
export interface Caller {
  kind: "key" | "oauth" | "anonymous";
  /** How usage and logs name the caller: the key's name, "subject via client", or "anonymous". */
  label: string;
  /** What tool code sees as ctx.user (never a token). */
  user: { subject: string; clientId: string | null; scopes: string[] } | null;
  /** The rate-limit bucket this caller draws from, and its size when it overrides the plan. */
  rateKey: string;
  rateLimitPerMinute?: number;
}

export interface ApiKeyIdentity {
  serverId: string;
  keyId: string;
  name: string;
  rateLimitPerMinute: number | null;
}

/** What the runtime role is given at the composition root. */
export interface RuntimeDeps {
  config: Config;
  bus: Bus;
  directory: ServerDirectory;
  sessions: SessionStore;
  relay: SessionRelay;
  sandbox: Pick<SandboxSupervisor, "call">;
  usage: UsageRecorder;
  limits: Limits;
  logs: ServerLogs;
  /** A server's decrypted secrets (the control plane's vault). */
  secretsFor(serverId: string): Promise<Record<string, string>>;
  verifyApiKey(key: string): Promise<ApiKeyIdentity | null>;
  /** OAuth access tokens; undefined until an issuer is configured. */
  verifyJwt?: JwtVerifier;
  issuer: string;
  /** Operator switches for egress (self-hosting on a LAN, plain-http hosts). */
  egress: Pick<EgressPolicy, "allowPrivateNetworks" | "allowHttpHosts">;
  /** Spans of each request and its steps (NO_TRACING when OTEL_EXPORTER_OTLP_ENDPOINT is unset). */
  tracing: Tracing;
}

/** Everything a method handler works with. */
export interface MethodContext {
  deps: RuntimeDeps;
  server: ServerRecord;
  session: Session;
  caller: Caller;
  request: JsonRpcRequest;
  /** Where messages to the client go while the request runs (a POST's stream, or a legacy SSE stream). */
  responder: Pick<Responder, "send">;
  signal: AbortSignal;
}

export type Method = (context: MethodContext) => Promise<Record<string, unknown>>;
