// defineServer, tool, resource and prompt: they check their arguments, so that a mistake
// in tool code fails when the bundle loads (at build time), with a message that names it.
import { z } from "zod";

type AnyFunction = (...args: never[]) => unknown;

export interface ToolDefinition {
  title?: string;
  description: string;
  input: z.ZodObject;
  output?: z.ZodObject;
  annotations?: Record<string, unknown>;
  /** Checked by the compiler (syntax, reserved names, how many): here only the shape. */
  scopes?: string[];
  run: AnyFunction;
}
export interface ResourceDefinition {
  uri?: string;
  uriTemplate?: string;
  name?: string;
  title?: string;
  description?: string;
  mimeType?: string;
  read: AnyFunction;
}
export interface PromptDefinition {
  title?: string;
  description?: string;
  arguments?: z.ZodObject;
  get: AnyFunction;
}
export interface ServerDefinition {
  name: string;
  version?: string;
  description?: string;
  secrets: string[];
  egress: string[];
  tools: Map<string, ToolDefinition>;
  resources: Map<string, ResourceDefinition>;
  prompts: Map<string, PromptDefinition>;
}

// Handles returned by tool()/resource()/prompt(): the definitions stay inside this runtime.
const tools = new WeakMap<object, ToolDefinition>();
const resources = new WeakMap<object, ResourceDefinition>();
const prompts = new WeakMap<object, PromptDefinition>();
let server: ServerDefinition | undefined;

function fail(where: string, message: string): never {
  throw new TypeError(`${where}: ${message}`);
}
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;
const optionalString = (where: string, value: unknown, field: string) => {
  if (value !== undefined && typeof value !== "string") fail(where, `${field} must be a string`);
};

export function tool(definition: ToolDefinition): object {
  const where = "tool()";
  if (!isObject(definition)) fail(where, "expects an object with description, input and run");
  if (typeof definition.description !== "string") fail(where, "description must be a string");
  if (!(definition.input instanceof z.ZodObject)) fail(where, "input must be a z.object({...})");
  if (definition.output !== undefined && !(definition.output instanceof z.ZodObject)) {
    fail(where, "output must be a z.object({...}) when given");
  }
  if (typeof definition.run !== "function") fail(where, "run must be a function");
  optionalString(where, definition.title, "title");
  const { scopes } = definition;
  if (scopes !== undefined && (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== "string"))) {
    fail(where, 'scopes must be an array of strings, e.g. ["notes:write"]');
  }
  const handle = Object.freeze({ kind: "tool" });
  // A copy: the manifest reports the list tool() was given, whatever the code does with its own.
  tools.set(handle, { ...definition, ...(scopes === undefined ? {} : { scopes: [...scopes] }) });
  return handle;
}

export function resource(definition: ResourceDefinition): object {
  const where = "resource()";
  if (!isObject(definition)) fail(where, "expects an object with uri or uriTemplate, and read");
  if ((definition.uri === undefined) === (definition.uriTemplate === undefined)) {
    fail(where, "give exactly one of uri and uriTemplate");
  }
  optionalString(where, definition.uri, "uri");
  optionalString(where, definition.uriTemplate, "uriTemplate");
  if (typeof definition.read !== "function") fail(where, "read must be a function");
  const handle = Object.freeze({ kind: "resource" });
  resources.set(handle, { ...definition });
  return handle;
}

export function prompt(definition: PromptDefinition): object {
  const where = "prompt()";
  if (!isObject(definition)) fail(where, "expects an object with get");
  if (definition.arguments !== undefined && !(definition.arguments instanceof z.ZodObject)) {
    fail(where, "arguments must be a z.object({...}) of strings when given");
  }
  if (typeof definition.get !== "function") fail(where, "get must be a function");
  const handle = Object.freeze({ kind: "prompt" });
  prompts.set(handle, { ...definition });
  return handle;
}

function collect<T>(where: string, record: unknown, registry: WeakMap<object, T>, maker: string): Map<string, T> {
  const out = new Map<string, T>();
  if (record === undefined) return out;
  if (!isObject(record)) fail(where, `must be an object of ${maker}(...) values`);
  for (const [key, handle] of Object.entries(record)) {
    const definition = isObject(handle) ? registry.get(handle) : undefined;
    if (!definition) fail(`${where}.${key}`, `must be made with ${maker}(...)`);
    out.set(key, definition);
  }
  return out;
}

export function defineServer(definition: Record<string, unknown>): object {
  const where = "defineServer()";
  if (server) fail(where, "may be called only once");
  if (!isObject(definition)) fail(where, "expects an object with name and tools");
  if (typeof definition.name !== "string" || definition.name === "") fail(where, "name must be a non-empty string");
  optionalString(where, definition.version, "version");
  optionalString(where, definition.description, "description");
  const strings = (field: string) => {
    const value = definition[field] ?? [];
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string"))
      fail(where, `${field} must be an array of strings`);
    return [...value] as string[];
  };
  server = {
    name: definition.name,
    ...(definition.version === undefined ? {} : { version: definition.version as string }),
    ...(definition.description === undefined ? {} : { description: definition.description as string }),
    secrets: strings("secrets"),
    egress: strings("egress").map((host) => host.toLowerCase()),
    tools: collect(`${where} tools`, definition.tools, tools, "tool"),
    resources: collect(`${where} resources`, definition.resources, resources, "resource"),
    prompts: collect(`${where} prompts`, definition.prompts, prompts, "prompt"),
  };
  return Object.freeze({ kind: "server" });
}

export function currentServer(): ServerDefinition | undefined {
  return server;
}
