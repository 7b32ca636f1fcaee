// The guest API: the one module tool code may import. Point an editor at this file to
// check tool code locally (see sandbox/guest/README.md).

import type { z } from "zod";

export { z } from "zod";

/** Lines written here reach the MCP client as logging notifications and the server's live log. */
export interface Logger {
  debug(message: string, data?: unknown): void;
  info(message: string, data?: unknown): void;
  warning(message: string, data?: unknown): void;
  error(message: string, data?: unknown): void;
}

/** Who is calling: the OAuth subject and client, or the API key's name. Null for public servers. */
export interface Caller {
  subject: string;
  clientId: string | null;
  scopes: string[];
}

export interface TextContent {
  type: "text";
  text: string;
}
export interface ImageContent {
  type: "image";
  /** base64 */
  data: string;
  mimeType: string;
}
export interface AudioContent {
  type: "audio";
  /** base64 */
  data: string;
  mimeType: string;
}
export interface ResourceLink {
  type: "resource_link";
  uri: string;
  name: string;
  description?: string;
  mimeType?: string;
}
export interface EmbeddedResource {
  type: "resource";
  resource: { uri: string; mimeType?: string; text: string } | { uri: string; mimeType?: string; blob: string };
}
export type ContentBlock = TextContent | ImageContent | AudioContent | ResourceLink | EmbeddedResource;

/** A full MCP tool result, passed through as it is. */
export interface CallToolResult {
  content: ContentBlock[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface SamplingMessage {
  role: "user" | "assistant";
  content: TextContent | ImageContent | AudioContent;
}
/** Asks the client's model for a completion (MCP sampling/createMessage). */
export interface SampleRequest {
  messages: SamplingMessage[];
  maxTokens: number;
  systemPrompt?: string;
  temperature?: number;
  stopSequences?: string[];
  modelPreferences?: {
    hints?: { name?: string }[];
    costPriority?: number;
    speedPriority?: number;
    intelligencePriority?: number;
  };
}
export interface SampleResult {
  role: "user" | "assistant";
  content: TextContent | ImageContent | AudioContent;
  model: string;
  stopReason?: string;
}

/** Asks the user for input through the client (MCP elicitation/create). */
export interface ElicitRequest {
  message: string;
  /** A flat object schema of primitive properties. */
  requestedSchema: { type: "object"; properties: Record<string, unknown>; required?: string[] };
}
export interface ElicitResult {
  action: "accept" | "decline" | "cancel";
  content?: Record<string, string | number | boolean | string[]>;
}

/** A completion from the platform's model, asked by the server itself (unlike sample(), which asks the client's). */
export interface LlmRequest {
  prompt: string;
  system?: string;
  /** Default 1024, at most 4096. */
  maxTokens?: number;
}
export interface LlmResult {
  text: string;
  usage: { inputTokens: number; outputTokens: number };
}
/**
 * The platform's model (Anthropic, with the org's key or the instance's), metered per org.
 * At most 5 completions per tool call; each is cancelled with the call.
 */
export interface Llm {
  complete(request: LlmRequest): Promise<LlmResult>;
}

export interface ToolContext {
  log: Logger;
  /** Reports progress to the client when it asked for it (a progress token); otherwise does nothing. */
  progress(done: number, total?: number, message?: string): void;
  /** Aborted when the client cancels the call or its deadline passes. */
  signal: AbortSignal;
  /** This server's own secrets, by the names declared in defineServer({ secrets }). Read-only. */
  env: Readonly<Record<string, string>>;
  user: Caller | null;
  sample(request: SampleRequest): Promise<SampleResult>;
  elicit(request: ElicitRequest): Promise<ElicitResult>;
  llm: Llm;
}

export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

type Awaitable<T> = T | Promise<T>;
type AnyObjectSchema = z.ZodObject<z.ZodRawShape>;

/**
 * What run() may return. With an `output` schema: an object of that shape (structured
 * content, checked and parsed by the schema, plus its JSON as text), or a full
 * CallToolResult whose structuredContent has that shape, or an isError result. Without
 * one: a string (one text block), a number or boolean (as text), nothing (no content),
 * an array (its JSON as text), a plain object (structured content plus its JSON as text),
 * or a full CallToolResult, passed through. A thrown error becomes an isError result
 * carrying only the error's message.
 */
export type ToolReturn<O> = O extends AnyObjectSchema
  ? z.input<O> | (CallToolResult & { structuredContent: z.input<O> }) | (CallToolResult & { isError: true })
  : string | number | boolean | null | undefined | unknown[] | Record<string, unknown> | CallToolResult;

/** Without an output schema, run() may also return nothing (a result with no content). */
type ReturnsNothing<O> = O extends AnyObjectSchema ? never : Awaitable<void>;

export interface ToolDefinition<I extends AnyObjectSchema, O extends AnyObjectSchema | undefined> {
  title?: string;
  description: string;
  input: I;
  output?: O;
  annotations?: ToolAnnotations;
  /**
   * OAuth scopes a caller's access token must carry to call this tool, besides `mcp:tools`
   * (step-up: a token without them is answered 403 `insufficient_scope` naming them, and the
   * client asks the user to grant them). 1-64 characters of a-z 0-9 _ . : -, starting with a
   * letter, e.g. "notes:write"; at most 5; not `mcp:...` nor an OpenID Connect scope (openid,
   * offline_access, profile, email, address, phone). API-key and public callers are not asked.
   */
  scopes?: readonly string[];
  run(input: z.output<I>, ctx: ToolContext): Awaitable<ToolReturn<O>> | ReturnsNothing<O>;
}
export interface Tool {
  readonly kind: "tool";
}
export declare function tool<I extends AnyObjectSchema, O extends AnyObjectSchema | undefined = undefined>(
  definition: ToolDefinition<I, O>,
): Tool;

export interface ResourceContents {
  uri: string;
  mimeType?: string;
  text?: string;
  /** base64 */
  blob?: string;
}
export type ResourceReturn = string | ResourceContents | ResourceContents[];
export interface ResourceContext {
  log: Logger;
  signal: AbortSignal;
  env: Readonly<Record<string, string>>;
  user: Caller | null;
}
export interface StaticResourceDefinition {
  uri: string;
  name?: string;
  title?: string;
  description?: string;
  mimeType?: string;
  read(uri: string, ctx: ResourceContext): Awaitable<ResourceReturn>;
}
export interface TemplateResourceDefinition {
  /** RFC 6570 level 1, e.g. "notes://{id}". The variables arrive in `params`. */
  uriTemplate: string;
  name?: string;
  title?: string;
  description?: string;
  mimeType?: string;
  read(uri: string, ctx: ResourceContext & { params: Record<string, string> }): Awaitable<ResourceReturn>;
}
export interface Resource {
  readonly kind: "resource";
}
// Overloads rather than a union, so that read()'s parameters are typed from the definition.
export declare function resource(definition: TemplateResourceDefinition): Resource;
export declare function resource(definition: StaticResourceDefinition): Resource;

export interface PromptMessage {
  role: "user" | "assistant";
  content: TextContent | ImageContent | AudioContent | EmbeddedResource;
}
/** Prompt arguments are strings: declare them as a z.object of z.string() (optional allowed). */
export interface PromptDefinition<A extends AnyObjectSchema> {
  title?: string;
  description?: string;
  arguments?: A;
  get(args: z.output<A>, ctx: ResourceContext): Awaitable<string | PromptMessage[]>;
}
export interface Prompt {
  readonly kind: "prompt";
}
export declare function prompt<A extends AnyObjectSchema = z.ZodObject<Record<string, never>>>(
  definition: PromptDefinition<A>,
): Prompt;

export interface ServerDefinition {
  name: string;
  version?: string;
  description?: string;
  /** Names of the secrets this server reads through ctx.env (UPPER_SNAKE_CASE). */
  secrets?: string[];
  /** Hosts fetch() may reach once the owner approves them: "api.example.com" or "*.example.com". */
  egress?: string[];
  tools?: Record<string, Tool>;
  resources?: Record<string, Resource>;
  prompts?: Record<string, Prompt>;
}
export interface Server {
  readonly kind: "server";
}
export declare function defineServer(definition: ServerDefinition): Server;
