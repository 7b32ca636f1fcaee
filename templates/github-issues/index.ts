// Searches GitHub issues and pull requests, and reads one issue, through GitHub's REST API
// (GET /search/issues, GET /repos/{owner}/{repo}/issues/{number}). A token is optional.
import { defineServer, tool, z } from "isola";
import config from "./config.ts";

const Settings = z.object({
  apiUrl: z.url({ protocol: /^https?$/, error: "apiUrl must be an http(s) URL, like https://api.github.com" }),
});

function loadSettings(): z.output<typeof Settings> {
  const parsed = Settings.safeParse(config);
  if (!parsed.success) throw new Error(`config.ts: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const settings = loadSettings();
const API = settings.apiUrl.replace(/\/+$/, "");
const HOST = new URL(API).hostname;

// What the tools read of GitHub's answers; everything else is left out.
const User = z.object({ login: z.string() }).nullable();
const Label = z.union([z.string(), z.object({ name: z.string().nullish() })]);
const Issue = z.object({
  number: z.number(),
  title: z.string(),
  state: z.string(),
  html_url: z.string(),
  repository_url: z.string().optional(),
  user: User.optional(),
  labels: z.array(Label).default([]),
  comments: z.number().default(0),
  created_at: z.string(),
  updated_at: z.string(),
  closed_at: z.string().nullish(),
  body: z.string().nullish(),
  pull_request: z.object({}).passthrough().optional(),
});
const SearchAnswer = z.object({
  total_count: z.number(),
  incomplete_results: z.boolean().default(false),
  items: z.array(Issue),
});
const ErrorAnswer = z.object({
  message: z.string().optional(),
  errors: z.array(z.object({ message: z.string().optional() }).passthrough()).optional(),
});

type Issue = z.output<typeof Issue>;

/** "https://api.github.com/repos/octo/hello" -> "octo/hello" */
function repoOf(issue: Issue): string {
  const parts = (issue.repository_url ?? "").split("/");
  return parts.slice(-2).join("/");
}

function summary(issue: Issue) {
  return {
    repo: repoOf(issue),
    number: issue.number,
    title: issue.title,
    state: issue.state,
    isPullRequest: issue.pull_request !== undefined,
    author: issue.user?.login ?? null,
    labels: issue.labels.map((label) => (typeof label === "string" ? label : (label.name ?? ""))).filter(Boolean),
    comments: issue.comments,
    createdAt: issue.created_at,
    updatedAt: issue.updated_at,
    url: issue.html_url,
  };
}

/** What GitHub said went wrong, in one short line. */
function upstreamMessage(text: string): string {
  try {
    const parsed = ErrorAnswer.safeParse(JSON.parse(text));
    if (parsed.success) {
      const details = (parsed.data.errors ?? []).map((error) => error.message).filter(Boolean);
      return [parsed.data.message, ...details].filter(Boolean).join(": ").slice(0, 300);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

async function github<S extends z.ZodType>(
  path: string,
  answer: S,
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<z.output<S>> {
  const headers: Record<string, string> = {
    accept: "application/vnd.github+json",
    "x-github-api-version": "2022-11-28",
    "user-agent": "isola-template-github-issues",
  };
  if (env.GITHUB_TOKEN) headers.authorization = `Bearer ${env.GITHUB_TOKEN}`;
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, { headers, signal });
  } catch (error) {
    throw new Error(`could not reach ${HOST}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    const said = upstreamMessage(text);
    const hint =
      response.status === 401
        ? " (the GITHUB_TOKEN secret is not a valid token)"
        : response.status === 403 || response.status === 429
          ? " (rate limited: wait a minute, or set a GITHUB_TOKEN secret for a higher limit)"
          : "";
    throw new Error(`GitHub answered ${response.status}${said ? `: ${said}` : ""}${hint}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`GitHub answered ${response.status} with something that is not JSON`);
  }
  const parsed = answer.safeParse(json);
  if (!parsed.success) {
    throw new Error(`GitHub's answer does not have the expected shape: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

const repo = z
  .string()
  // Owners are letters, digits and hyphens; a name may hold dots, but is never "." or "..".
  .regex(/^[A-Za-z0-9-]+\/(?!\.\.?$)[A-Za-z0-9_.-]+$/, 'a repository as "owner/name", like "nodejs/node"')
  .describe('A repository as "owner/name", like "nodejs/node"');

const IssueSummary = z.object({
  repo: z.string(),
  number: z.number(),
  title: z.string(),
  state: z.string(),
  isPullRequest: z.boolean(),
  author: z.string().nullable(),
  labels: z.array(z.string()),
  comments: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
  url: z.string(),
});

export default defineServer({
  name: "github-issues",
  version: "1.0.0",
  description: "Search GitHub issues and pull requests, and read one issue",
  secrets: ["GITHUB_TOKEN"],
  egress: [HOST],
  tools: {
    search_issues: tool({
      title: "Search GitHub issues",
      description:
        "Searches GitHub issues and pull requests by words and GitHub search qualifiers (label:bug, author:octocat, " +
        "in:title...). Returns the matching issues with their repository, number, state, labels and link, best match " +
        "first unless another order is asked for.",
      input: z.object({
        query: z
          .string()
          .trim()
          .min(1)
          .max(256)
          .describe("Words to look for; GitHub search qualifiers such as label:bug or author:octocat work too"),
        repo: repo.optional(),
        state: z.enum(["open", "closed", "any"]).default("any").describe("Only open or closed ones, or both"),
        kind: z.enum(["issue", "pr", "any"]).default("any").describe("Only issues, only pull requests, or both"),
        sort: z
          .enum(["best-match", "created", "updated", "comments"])
          .default("best-match")
          .describe("The order: best match, or newest created, recently updated, most commented first"),
        limit: z.number().int().min(1).max(50).default(10).describe("How many to return (1-50)"),
      }),
      output: z.object({ total: z.number(), incomplete: z.boolean(), items: z.array(IssueSummary) }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run(input, ctx) {
        const terms = [input.query];
        if (input.repo) terms.push(`repo:${input.repo}`);
        if (input.state !== "any") terms.push(`state:${input.state}`);
        if (input.kind !== "any") terms.push(`is:${input.kind}`);
        const query = new URLSearchParams({ q: terms.join(" "), per_page: String(input.limit) });
        if (input.sort !== "best-match") {
          query.set("sort", input.sort);
          query.set("order", "desc");
        }
        const found = await github(`/search/issues?${query}`, SearchAnswer, ctx.env, ctx.signal);
        return {
          total: found.total_count,
          incomplete: found.incomplete_results,
          items: found.items.slice(0, input.limit).map(summary),
        };
      },
    }),
    get_issue: tool({
      title: "Read a GitHub issue",
      description:
        "Reads one issue or pull request of a repository by its number: title, state, author, labels, dates and " +
        "its text (cut at 4000 characters).",
      input: z.object({
        repo,
        number: z.number().int().min(1).describe("The issue or pull request number, as in #123"),
      }),
      output: IssueSummary.extend({ closedAt: z.string().nullable(), body: z.string(), truncated: z.boolean() }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run({ repo, number }, ctx) {
        const issue = await github(`/repos/${repo}/issues/${number}`, Issue, ctx.env, ctx.signal).catch(
          (error: Error) => {
            if (error.message.startsWith("GitHub answered 404"))
              throw new Error(`${repo} has no issue #${number}, or the repository is private and no token can read it`);
            throw error;
          },
        );
        const body = issue.body ?? "";
        return {
          ...summary(issue),
          repo,
          closedAt: issue.closed_at ?? null,
          body: body.slice(0, 4000),
          truncated: body.length > 4000,
        };
      },
    }),
  },
});
