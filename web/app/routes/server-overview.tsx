import type { ServerView } from "@isola/schema";
import { useRouteLoaderData } from "react-router";
import { Card } from "../components/card.tsx";
import { CodeBlock } from "../components/code-block.tsx";
import { StatusPill } from "../components/status-pill.tsx";
import { installSnippets } from "../lib/install-snippets.ts";
import serverPageStyles from "../styles/server-pages.css?url";
import type { Route } from "./+types/server-overview";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: serverPageStyles }];

const AUTH_WORDS: Record<ServerView["authMode"], string> = {
  public: "Public: anyone with the URL",
  api_key: "API key: clients send one of the server's keys",
  oauth: "OAuth: clients sign their user in",
};

function policyWords(policy: ServerView["accessPolicy"]): string {
  const kind = (policy as { kind?: string }).kind ?? "unknown";
  const rest = Object.entries(policy as Record<string, unknown>).filter(([key]) => key !== "kind");
  return rest.length === 0
    ? kind
    : `${kind}: ${rest.map(([key, value]) => `${key} ${JSON.stringify(value)}`).join(", ")}`;
}

/** What a server is and how to add it to each MCP client. */
export default function ServerOverview() {
  const { server } = useRouteLoaderData("routes/server") as { server: ServerView };
  const snippets = installSnippets({ slug: server.slug, url: server.mcpUrl, authMode: server.authMode });
  return (
    <div className="server-page">
      <Card title="Server">
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <StatusPill status={server.status} />
          </dd>
          <dt>URL</dt>
          <dd>
            <CodeBlock code={server.mcpUrl} label="MCP URL" />
          </dd>
          <dt>Authentication</dt>
          <dd>{AUTH_WORDS[server.authMode]}</dd>
          <dt>Access policy</dt>
          <dd>{server.authMode === "oauth" ? policyWords(server.accessPolicy) : "applies to OAuth servers only"}</dd>
          <dt>Active version</dt>
          <dd>{server.activeVersion === null ? "none deployed yet" : `v${server.activeVersion}`}</dd>
        </dl>
      </Card>
      <section aria-labelledby="install-heading" className="install">
        <h2 id="install-heading">Install</h2>
        {server.authMode === "api_key" && (
          <p className="muted">Replace the placeholder with one of the server's API keys (API keys tab).</p>
        )}
        <ul className="snippets">
          {snippets.map((snippet) => (
            <li key={snippet.id} className="snippet" id={`install-${snippet.id}`}>
              <h3>{snippet.client}</h3>
              <p className="muted">In {snippet.where}</p>
              <CodeBlock code={snippet.code} label={snippet.client} />
              {snippet.note && <p className="snippet-note">{snippet.note}</p>}
            </li>
          ))}
        </ul>
      </section>
    </div>
  );
}
