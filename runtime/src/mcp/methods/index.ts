import type { Method } from "../context.ts";
import { complete, ping, setLevel } from "./lifecycle.ts";
import { getPrompt, listPrompts, listResources, listResourceTemplates, readResource, subscribe } from "./resources.ts";
import { callTool, listTools } from "./tools.ts";

/** Every MCP request method a server answers (initialize is handled by the endpoint: it makes the session). */
export const METHODS: Readonly<Record<string, Method>> = Object.freeze({
  ping,
  "logging/setLevel": setLevel,
  "completion/complete": complete,
  "tools/list": listTools,
  "tools/call": callTool,
  "resources/list": listResources,
  "resources/templates/list": listResourceTemplates,
  "resources/read": readResource,
  "resources/subscribe": subscribe,
  "resources/unsubscribe": subscribe,
  "prompts/list": listPrompts,
  "prompts/get": getPrompt,
});

/**
 * The handler of a method name a client sent, if the table has it. Own entries only: a plain
 * lookup would also find "constructor", "toString" or "__proto__" on Object.prototype, and call it.
 */
export function methodFor(name: string): Method | undefined {
  return Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
}
