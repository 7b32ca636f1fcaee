import type { Method } from "../context.ts";
import { complete, ping, setLevel } from "./lifecycle.ts";
import { getPrompt, listPrompts, listResources, listResourceTemplates, readResource, subscribe } from "./resources.ts";
import { callTool, listTools } from "./tools.ts";

/** Every MCP request method a server answers (initialize is handled by the endpoint: it makes the session). */
export const METHODS: Record<string, Method> = {
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
};
