import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { BuildActions } from "../builds/build-actions.ts";
import type { ControlDeps } from "../deps.ts";
import type { Catalogue } from "../templates/catalogue.ts";
import { registerBuildTools } from "./tools/builds.ts";
import { registerDeclarativeTools } from "./tools/declarative.ts";
import { registerLifecycleTools } from "./tools/lifecycle.ts";
import { registerObserveTools } from "./tools/observe.ts";
import { registerSecretTools } from "./tools/secrets.ts";
import { registerServerTools } from "./tools/servers.ts";
import { registerTemplateTools } from "./tools/templates.ts";

const INSTRUCTIONS = `Isola hosts MCP servers. With these tools you build and run them for the user, as the user (their roles in their orgs apply).
- To build one from a description: create_server_from_brief, then get_build until it is "waiting", show the user the plan's questions and hosts, then answer_build with their answers and approvals; get_build again until it has "succeeded" (its url is the new server's MCP endpoint) or "failed" (its errors say why).
- Ready-made servers: list_templates, deploy_template.
- Tools without code: add_declarative_tools (static answers, HTTP API calls, prompts), then deploy.
- Secrets (API keys, tokens) are never tool arguments: set_secret, answer_build and deploy_template send the user to a page of Isola's to enter them (URL-mode elicitation); never ask the user to paste a secret into the conversation. If your client cannot open that page, the tool's answer says where the user enters the secret instead.
- To change a server from a description: iterate_server, then as above (get_build, answer_build); cancel_build stops a build.
- Running servers: list_servers, get_server, deploy, roll_back, pause_server, resume_server, read_logs, read_usage.
- delete_server deletes a server for good: only when the user asks, with confirm set to its slug typed again.`;

export interface IsolaServerParts {
  deps: ControlDeps;
  builds: BuildActions;
  catalogue: Catalogue;
}

/** Isola's MCP server for one session: its tools act through the control plane's own functions. */
export function createIsolaServer(parts: IsolaServerParts): McpServer {
  const mcp = new McpServer(
    { name: "isola", title: "Isola", version: "0.1.0" },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );
  const context = { ...parts, mcp };
  registerServerTools(context);
  registerLifecycleTools(context);
  registerBuildTools(context);
  registerSecretTools(context);
  registerDeclarativeTools(context);
  registerTemplateTools(context);
  registerObserveTools(context);
  return mcp;
}
