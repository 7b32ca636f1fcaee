import { ButtonLink } from "../components/button.tsx";
import { Card } from "../components/card.tsx";
import { CodeBlock } from "../components/code-block.tsx";
import { PublicTopBar } from "../components/shell.tsx";
import landing from "../styles/landing.css?url";
import type { Route } from "./+types/home";

export const meta: Route.MetaFunction = () => [
  { title: "Isola · Describe a tool, get a hosted MCP server" },
  {
    name: "description",
    content: "Describe a tool in plain language; Isola builds, checks and hosts it as an MCP server.",
  },
];

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: landing }];

/** This instance's own address, for the snippet. */
export function loader({ url }: Route.LoaderArgs) {
  return { origin: url.origin };
}

const STEPS = [
  { title: "Describe it", text: "Say what the tool should do, in plain language, or start from a template." },
  {
    title: "Confirm the plan",
    text: "Check the tools, the secrets it needs and the hosts it may reach. Nothing runs before you approve.",
  },
  {
    title: "Connect your client",
    text: "Isola writes, compiles, tests and deploys the code, then gives you a URL and the snippet for your client.",
  },
];

const CLIENTS = ["Claude", "ChatGPT", "Cursor", "VS Code", "Claude Code"];

const EXAMPLES = [
  { title: "Weather", brief: "Current weather and a 3-day forecast for any city." },
  { title: "GitHub issues", brief: "Search, summarise and label the issues of our repositories." },
  { title: "Notion search", brief: "Find pages in our Notion workspace and quote the relevant part." },
  { title: "RSS digest", brief: "What is new in these feeds since yesterday, in five lines." },
  { title: "FAQ", brief: "Answer customer questions from our FAQ, and say when it has no answer." },
  { title: "Any JSON API", brief: "Call our internal HTTP API with a key kept as an encrypted secret." },
];

const DOCS = [
  { path: "README.md", text: "running Isola and its configuration" },
  { path: "docs/API.md", text: "the REST API the CLI and this app use" },
  { path: "docs/ARCHITECTURE.md", text: "how the pieces fit, and what is guaranteed" },
  { path: "templates/README.md", text: "the ready-made servers of the template gallery" },
  { path: "sandbox/guest/README.md", text: "writing a server by hand with the guest API" },
];

export default function Home({ loaderData }: Route.ComponentProps) {
  const snippet = `claude mcp add --transport http weather ${loaderData.origin}/weather/mcp`;
  return (
    <>
      <PublicTopBar />
      <main id="main" className="landing">
        <section className="hero" aria-labelledby="hero-title" style={{ marginTop: 0 }}>
          <h1 id="hero-title">Describe a tool. Get a hosted MCP server.</h1>
          <p className="hero-lead">
            Isola plans and writes the code from your description, checks it, and runs it in its own sandbox behind
            OAuth or API keys, ready for your AI client.
          </p>
          <div className="hero-actions">
            <ButtonLink to="/signup" variant="primary">
              Start building
            </ButtonLink>
            <ButtonLink to="/signin">Sign in</ButtonLink>
          </div>
          <CodeBlock label="Claude Code" code={snippet} />
        </section>

        <section aria-labelledby="how">
          <h2 id="how">How it works</h2>
          <ol className="steps">
            {STEPS.map((step) => (
              <li key={step.title} className="card">
                <h3>{step.title}</h3>
                <p className="muted">{step.text}</p>
              </li>
            ))}
          </ol>
        </section>

        <section aria-labelledby="clients">
          <h2 id="clients">Works with</h2>
          <p className="section-lead">Every server speaks MCP over Streamable HTTP, with OAuth 2.1 or API keys.</p>
          <ul className="clients">
            {CLIENTS.map((client) => (
              <li key={client}>{client}</li>
            ))}
          </ul>
        </section>

        <section aria-labelledby="examples">
          <h2 id="examples">Examples</h2>
          <div className="grid">
            {EXAMPLES.map((example) => (
              <Card key={example.title} title={<span style={{ fontSize: "1rem" }}>{example.title}</span>}>
                <p className="muted">{example.brief}</p>
              </Card>
            ))}
          </div>
        </section>

        <section aria-labelledby="self-hosting">
          <h2 id="self-hosting">Self-hosting</h2>
          <p className="section-lead">
            One image with PostgreSQL and Redis runs a whole fleet (<code>docker compose up</code>). On a laptop,{" "}
            <code>npm start</code> runs everything with embedded defaults and nothing else to install.
          </p>
        </section>

        <section aria-labelledby="docs">
          <h2 id="docs">Documentation</h2>
          <p className="section-lead">
            In the repository: the API is also described live at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>
            .
          </p>
          <ul>
            {DOCS.map((doc) => (
              <li key={doc.path}>
                <code>{doc.path}</code> <span className="muted">· {doc.text}</span>
              </li>
            ))}
          </ul>
        </section>
      </main>
      <footer className="footer">Isola · Apache-2.0</footer>
    </>
  );
}
