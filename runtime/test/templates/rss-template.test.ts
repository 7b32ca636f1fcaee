// The rss template in a real sandbox, against feeds served on loopback (the configured feed
// hosts resolve there): RSS 2.0, RSS 1.0 and Atom as publishers write them, the malformed
// documents its XML reader must refuse with a clear error, and the sloppy ones it must forgive.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payload, startUpstream, type Upstream } from "./fake-upstream.ts";
import { type Deployed, listIn, startTemplateSandbox, type TemplateSandbox, textOf } from "./template-sandbox.ts";

let sandbox: TemplateSandbox;
let upstream: Upstream;
let rss: Deployed;
let at: (host: string, path: string) => string;

beforeAll(async () => {
  [sandbox, upstream] = await Promise.all([startTemplateSandbox(), startUpstream()]);
  at = (host, path) => `http://${host}:${upstream.port}${path}`;
  rss = await sandbox.deploy("rss", {
    feeds: [
      { name: "hacker-news", url: at("hnrss.org", "/frontpage") },
      { name: "github-blog", url: at("github.blog", "/feed/") },
      { name: "science", url: at("feeds.example.com", "/science.rdf") },
    ],
  });
  upstream.on("GET", "/frontpage", { body: payload("rss2.xml"), type: "application/rss+xml; charset=UTF-8" });
  upstream.on("GET", "/feed/", { body: payload("atom.xml"), type: "application/atom+xml" });
  upstream.on("GET", "/science.rdf", { body: payload("rss1.xml"), type: "application/rdf+xml" });
}, 60_000);
afterAll(async () => {
  await Promise.all([sandbox?.close(), upstream?.close()]);
});

it("declares the hosts of its feeds as its egress", () => {
  expect(rss.artifact.manifest.egress).toEqual(["hnrss.org", "github.blog", "feeds.example.com"]);
});

it("list_feeds names the configured feeds", async () => {
  const result = await rss.call("list_feeds");
  expect(result.structuredContent).toEqual({
    feeds: [
      { name: "hacker-news", url: at("hnrss.org", "/frontpage") },
      { name: "github-blog", url: at("github.blog", "/feed/") },
      { name: "science", url: at("feeds.example.com", "/science.rdf") },
    ],
  });
});

describe("read_feed", () => {
  it("reads RSS 2.0: CDATA, entities, escaped HTML, Dublin Core authors, guids and dates it cannot read", async () => {
    const result = await rss.call("read_feed", { feed: "hacker-news" });
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toEqual({
      name: "hacker-news",
      url: at("hnrss.org", "/frontpage"),
      kind: "rss",
      title: "Hacker News: Front Page",
      link: "https://news.ycombinator.com/",
      description: "Hacker News RSS",
      items: [
        {
          title: "Show HN: A tiny MCP server for your RSS feeds",
          link: "https://example.com/tiny-mcp",
          published: "2024-07-22T13:02:11.000Z",
          author: "pg_fan",
          summary:
            "Article URL: https://example.com/tiny-mcp Comments URL: https://news.ycombinator.com/item?id=41034573 Points: 187 # Comments: 64",
        },
        {
          title: "Rust & WebAssembly \u2013 one year later",
          link: "https://blog.example.org/rust-wasm",
          published: "2024-07-21T22:45:00.000Z",
          author: "ferris",
          summary: "We moved our parser to Wasm & never looked back.",
        },
        {
          title: "Postgres as a queue, revisited",
          link: "https://blog.example.org/pg-queue",
          published: "not a date",
          author: null,
          summary: "FOR UPDATE SKIP LOCKED, leases and what happens when a worker dies.",
        },
      ],
    });
    expect(upstream.last("/frontpage").headers.accept).toContain("application/rss+xml");
  });

  it("reads Atom: relative links, html and xhtml text, authors, updated for a missing published", async () => {
    const result = await rss.call("read_feed", { feed: "github-blog", limit: 5 });
    expect(result.structuredContent).toMatchObject({
      kind: "atom",
      title: "The GitHub Blog",
      link: "https://github.blog/",
      description: "Updates, ideas, and inspiration from GitHub to help developers build and design software.",
      items: [
        {
          title: "How we improved push processing on GitHub",
          link: at("github.blog", "/engineering/architecture-optimization/how-we-improved-push-processing-on-github/"),
          published: "2024-07-18T16:00:57.000Z",
          author: "Mona Lisa Octocat",
          summary: expect.stringMatching(/^Pushing code to GitHub is one of the most fundamental interactions/),
        },
        {
          title: "Copilot Workspace update",
          link: "https://github.blog/news-insights/product-news/copilot-workspace-update/",
          published: "2024-07-16T09:30:00.000Z",
          author: "Hubot",
          summary: "New: brainstorm mode & faster plans.",
        },
      ],
    });
  });

  it("reads RSS 1.0 (RDF): a DOCTYPE with an internal subset, items beside the channel", async () => {
    const result = await rss.call("read_feed", { feed: "science" });
    expect(result.structuredContent).toMatchObject({
      kind: "rss",
      title: "Science notes",
      items: [
        {
          title: "Measuring <small> things",
          link: "https://feeds.example.com/science/1",
          published: "2024-07-20T06:00:00.000Z",
          author: "Marie",
          summary: "Calipers, microscopes & patience.",
        },
      ],
    });
  });

  it("takes the URL of another feed on a configured host, and keeps to the limit", async () => {
    upstream.on("GET", "/other.xml", { body: payload("rss2.xml") });
    const result = await rss.call("read_feed", { feed: at("hnrss.org", "/other.xml"), limit: 1 });
    expect(result.structuredContent).toMatchObject({ name: null, url: at("hnrss.org", "/other.xml") });
    expect(listIn(result, "items").length).toBe(1);
  });
});

describe("documents the XML reader refuses, with the reason", () => {
  const full = () => payload("rss2.xml");
  const rows: [string, () => string, RegExp][] = [
    [
      "a feed cut short",
      () => full().slice(0, full().indexOf("</item>") + 7),
      /the document ends inside <channel> \(it may be cut short\)/,
    ],
    [
      "a tag that never ends",
      () => '<rss version="2.0"><channel><title>x</title><item',
      /the tag <item> at line 1 is not closed/,
    ],
    ["a comment that never ends", () => "<rss><!-- the rest is gone", /a comment at line 1 is not closed/],
    [
      "a CDATA section that never ends",
      () => "<rss><channel><title><![CDATA[x</title>",
      /a CDATA section at line 1 is not closed/,
    ],
    ["junk inside a tag", () => '<rss version="2.0" <channel>', /unexpected "<" in the tag <rss> at line 1/],
    [
      "an HTML page",
      () => "<!DOCTYPE html><html><head><title>Oops</title></head><body>Not here</body></html>",
      /not an RSS or Atom feed: the document is <html>/,
    ],
    ["text without any element", () => "Service temporarily unavailable", /not XML: the document has no element/],
    [
      "RSS without a channel",
      () => '<?xml version="1.0"?><rss version="2.0"></rss>',
      /the <rss> document has no <channel>/,
    ],
  ];
  it.each(rows)("%s", async (_name, body, message) => {
    upstream.on("GET", "/bad.xml", { body: body(), type: "application/xml" });
    const result = await rss.call("read_feed", { feed: at("hnrss.org", "/bad.xml") });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      new RegExp(`^the document at ${at("hnrss.org", "/bad.xml")} cannot be read as a feed: `),
    );
    expect(textOf(result)).toMatch(message);
  });
});

describe("sloppy documents it forgives", () => {
  const rows: [string, string, Record<string, unknown>][] = [
    [
      "an unclosed <br> and a stray end tag",
      '<rss version="2.0"><channel><title>T</title></p><item><title>One</title><description>a<br>b</description></item></channel></rss>',
      { title: "T", items: [{ title: "One" }] },
    ],
    [
      "a bare < and an unknown entity in text",
      '<rss version="2.0"><channel><title>a < b &foo; c</title></channel></rss>',
      { title: "a < b &foo; c", items: [] },
    ],
    [
      "single-quoted and bare attribute values, and a prefixed Atom",
      "<atom:feed xmlns:atom='http://www.w3.org/2005/Atom'><atom:title>P</atom:title><atom:entry><atom:title>E</atom:title><atom:link href=/e1 /></atom:entry></atom:feed>",
      { kind: "atom", title: "P", items: [{ title: "E", link: expect.stringMatching(/\/e1$/) }] },
    ],
  ];
  it.each(rows)("%s", async (_name, body, expected) => {
    upstream.on("GET", "/sloppy.xml", { body, type: "text/xml" });
    const result = await rss.call("read_feed", { feed: at("hnrss.org", "/sloppy.xml") });
    expect(result.isError, textOf(result)).toBeUndefined();
    expect(result.structuredContent).toMatchObject(expected);
  });
});

describe("feeds that do not answer with a feed", () => {
  const rows: [string, { status?: number; body: unknown; type?: string }, RegExp][] = [
    ["a 404", { status: 404, body: "Not Found" }, /^the feed at \S+ answered 404 Not Found$/],
    ["a 500", { status: 500, body: "oops" }, /^the feed at \S+ answered 500 Internal Server Error$/],
    ["an empty body", { body: "" }, /^the feed at \S+ is empty$/],
  ];
  it.each(rows)("%s", async (_name, reply, message) => {
    upstream.on("GET", "/down.xml", reply);
    const result = await rss.call("read_feed", { feed: at("hnrss.org", "/down.xml") });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
  });
});

describe("search_feeds", () => {
  it("finds entries of every feed with all the words, newest first, and names a feed that failed", async () => {
    upstream.on("GET", "/science.rdf", { status: 503, body: "busy" });
    const result = await rss.call("search_feeds", { query: "GitHub" });
    expect(result.structuredContent).toEqual({
      items: [expect.objectContaining({ feed: "github-blog", title: "How we improved push processing on GitHub" })],
      errors: [{ feed: "science", error: expect.stringMatching(/answered 503/) }],
    });
    const both = await rss.call("search_feeds", { query: "wasm NEVER" });
    expect(listIn<{ title: string }>(both, "items").map((item) => item.title)).toEqual([
      "Rust & WebAssembly \u2013 one year later",
    ]);
    upstream.on("GET", "/science.rdf", { body: payload("rss1.xml") });
  });
});

describe("bad input", () => {
  const rows: [string, string, Record<string, unknown>, RegExp][] = [
    [
      "an unknown feed name",
      "read_feed",
      { feed: "slashdot" },
      /^unknown feed "slashdot": name one of hacker-news, github-blog, science, or give a feed URL on hnrss\.org, github\.blog, feeds\.example\.com$/,
    ],
    [
      "a URL on a host it may not reach",
      "read_feed",
      { feed: "https://evil.example.net/feed" },
      /^unknown feed "https:\/\/evil\.example\.net\/feed"/,
    ],
    ["a file URL", "read_feed", { feed: "file:///etc/passwd" }, /^unknown feed/],
    ["a limit of 0", "read_feed", { feed: "science", limit: 0 }, /^Invalid arguments.*limit/s],
    ["an empty query", "search_feeds", { query: "" }, /^Invalid arguments.*query/s],
  ];
  it.each(rows)("%s", async (_name, tool, args, message) => {
    const before = upstream.requests.length;
    const result = await rss.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(message);
    expect(upstream.requests.length).toBe(before);
  });
});
