import { type AuthMode, installSnippets } from "../lib/install-snippets.ts";
import { CodeBlock } from "./code-block.tsx";

/** A live server's URL and how to add it to each MCP client: where a build or a template deploy ends. */
export function InstallPanel({ slug, url, authMode }: { slug: string; url: string; authMode: AuthMode }) {
  return (
    <div className="install-panel">
      <CodeBlock code={url} label="MCP URL" />
      {installSnippets({ slug, url, authMode }).map((snippet) => (
        <details key={snippet.id} className="install-snippet">
          <summary>
            {snippet.client} <span className="muted">· {snippet.where}</span>
          </summary>
          <CodeBlock code={snippet.code} label={snippet.client} />
          {snippet.note && <p className="muted">{snippet.note}</p>}
        </details>
      ))}
    </div>
  );
}
