// The github-issues template's tools in a real sandbox, against a fake GitHub REST API on
// loopback (api.github.com resolves there; only the scheme and port of apiUrl change).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonPayload, startUpstream, type Upstream } from "./fake-upstream.ts";
import { type Deployed, startTemplateSandbox, type TemplateSandbox, textOf } from "./template-sandbox.ts";

let sandbox: TemplateSandbox;
let upstream: Upstream;
let github: Deployed;
const TOKEN = { GITHUB_TOKEN: "github_pat_11ABCDEF_test" };

beforeAll(async () => {
  [sandbox, upstream] = await Promise.all([startTemplateSandbox(), startUpstream()]);
  github = await sandbox.deploy("github-issues", { apiUrl: `http://api.github.com:${upstream.port}` });
}, 60_000);
afterAll(async () => {
  await Promise.all([sandbox?.close(), upstream?.close()]);
});

describe("search_issues", () => {
  it("turns the input into one GitHub search query and summarises each issue and pull request", async () => {
    upstream.on("GET", "/search/issues", { body: jsonPayload("github-search-issues.json") });
    const result = await github.call(
      "search_issues",
      { query: "fs.watch duplicate", repo: "nodejs/node", state: "any", sort: "updated", limit: 5 },
      TOKEN,
    );
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({
      total: 2,
      incomplete: false,
      items: [
        {
          repo: "nodejs/node",
          number: 53204,
          title: "fs.watch emits duplicate change events on Linux",
          state: "open",
          isPullRequest: false,
          author: "octocat",
          labels: ["fs", "confirmed-bug"],
          comments: 7,
          createdAt: "2024-06-03T13:01:55Z",
          updatedAt: "2024-07-19T08:42:10Z",
          url: "https://github.com/nodejs/node/issues/53204",
        },
        expect.objectContaining({ number: 53311, isPullRequest: true, state: "closed", author: "hubot" }),
      ],
    });
    const sent = upstream.last("/search/issues");
    const query = new URL(sent.url, "http://x").searchParams;
    expect(query.get("q")).toBe("fs.watch duplicate repo:nodejs/node");
    expect(query.get("per_page")).toBe("5");
    expect(query.get("sort")).toBe("updated");
    expect(sent.headers.authorization).toBe(`Bearer ${TOKEN.GITHUB_TOKEN}`);
    expect(sent.headers["user-agent"]).toBe("isola-template-github-issues");
    expect(sent.headers["x-github-api-version"]).toBe("2022-11-28");
  });

  it("adds state and kind qualifiers, and sends no Authorization without a token", async () => {
    upstream.on("GET", "/search/issues", { body: { total_count: 0, incomplete_results: false, items: [] } });
    const result = await github.call("search_issues", { query: "label:bug", state: "open", kind: "pr" });
    expect(result.structuredContent).toEqual({ total: 0, incomplete: false, items: [] });
    const sent = upstream.last("/search/issues");
    expect(new URL(sent.url, "http://x").searchParams.get("q")).toBe("label:bug state:open is:pr");
    expect(sent.headers.authorization).toBeUndefined();
  });
});

describe("get_issue", () => {
  it("reads one issue with its text", async () => {
    upstream.on("GET", "/repos/nodejs/node/issues/53204", { body: jsonPayload("github-issue.json") });
    const result = await github.call("get_issue", { repo: "nodejs/node", number: 53204 }, TOKEN);
    expect(result.structuredContent).toMatchObject({
      repo: "nodejs/node",
      number: 53204,
      labels: ["fs", "confirmed-bug"],
      closedAt: null,
      body: expect.stringContaining("Watch a file and write to it once."),
      truncated: false,
    });
  });

  it("says which issue does not exist on a 404", async () => {
    upstream.on("GET", "/repos/nodejs/node/issues/999999", {
      status: 404,
      body: { message: "Not Found", documentation_url: "https://docs.github.com/rest/issues/issues#get-an-issue" },
    });
    const result = await github.call("get_issue", { repo: "nodejs/node", number: 999999 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toBe(
      "nodejs/node has no issue #999999, or the repository is private and no token can read it",
    );
  });
});

describe("GitHub's errors become tool errors that say what happened", () => {
  const rows: [string, { status?: number; body: unknown; type?: string }, RegExp][] = [
    [
      "a rate limit (403)",
      {
        status: 403,
        body: {
          message: "API rate limit exceeded for 203.0.113.7.",
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        },
      },
      /^GitHub answered 403: API rate limit exceeded for 203\.0\.113\.7\. \(rate limited: .*GITHUB_TOKEN/,
    ],
    [
      "a query GitHub refuses (422)",
      {
        status: 422,
        body: {
          message: "Validation Failed",
          errors: [
            {
              message: "The listed users and repositories cannot be searched either because the resources do not exist",
              resource: "Search",
              field: "q",
              code: "invalid",
            },
          ],
        },
      },
      /^GitHub answered 422: Validation Failed: The listed users and repositories cannot be searched/,
    ],
    [
      "a server error (500) with an HTML page",
      { status: 500, body: "<html><body>Unicorn!</body></html>", type: "text/html" },
      /^GitHub answered 500: <html><body>Unicorn!/,
    ],
    [
      "an answer that is not JSON",
      { body: '{"total_count": 3, "items": [', type: "application/json" },
      /^GitHub answered 200 with something that is not JSON$/,
    ],
    [
      "JSON of another shape",
      { body: { total_count: "many", items: {} } },
      /^GitHub's answer does not have the expected shape: .*total_count/s,
    ],
  ];
  it.each(rows)("%s", async (_name, reply, message) => {
    upstream.on("GET", "/search/issues", reply);
    const result = await github.call("search_issues", { query: "anything" });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });

  it("a bad token (401) is named as such", async () => {
    upstream.on("GET", "/search/issues", {
      status: 401,
      body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" },
    });
    const result = await github.call("search_issues", { query: "anything" }, { GITHUB_TOKEN: "wrong" });
    expect(textOf(result)).toBe("GitHub answered 401: Bad credentials (the GITHUB_TOKEN secret is not a valid token)");
  });
});

describe("bad input is refused before anything is sent", () => {
  const rows: [string, string, Record<string, unknown>, RegExp][] = [
    ["an empty query", "search_issues", { query: "  " }, /query/],
    ["a repo without an owner", "search_issues", { query: "x", repo: "node" }, /owner\/name/],
    ["a limit over 50", "search_issues", { query: "x", limit: 500 }, /limit/],
    ["an unknown state", "search_issues", { query: "x", state: "merged" }, /state/],
    ["an issue number of 0", "get_issue", { repo: "nodejs/node", number: 0 }, /number/],
    ["a repo with a path in it", "get_issue", { repo: "nodejs/node/../../user", number: 1 }, /owner\/name/],
    ["a repo named ..", "get_issue", { repo: "nodejs/..", number: 1 }, /owner\/name/],
  ];
  it.each(rows)("%s", async (_name, tool, args, message) => {
    const before = upstream.requests.length;
    const result = await github.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid arguments/);
    expect(textOf(result)).toMatch(message);
    expect(upstream.requests.length).toBe(before);
  });
});

it("reaches nothing but its own host: GitHub's default URL with nothing listening there fails clearly", async () => {
  const real = await sandbox.deploy("github-issues");
  const result = await real.call("search_issues", { query: "x" });
  expect(result.isError).toBe(true);
  expect(textOf(result)).toMatch(/^could not reach api\.github\.com: /);
});
