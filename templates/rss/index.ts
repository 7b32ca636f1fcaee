// Reads RSS and Atom feeds: the ones config.ts names, and any other feed on their hosts.
import { defineServer, tool, z } from "isola";
import config from "./config.ts";
import { type Feed, readFeed } from "./feed.ts";

const FeedSetting = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "a feed's name is lowercase letters, digits and hyphens (at most 40)"),
  url: z.url({ protocol: /^https?$/, error: "a feed's url must be an http(s) URL" }),
});
const Settings = z.object({
  feeds: z
    .array(FeedSetting)
    .min(1, "name at least one feed")
    .max(20, "at most 20 feeds")
    .refine((feeds) => new Set(feeds.map((feed) => feed.name)).size === feeds.length, "two feeds have the same name"),
});

function loadSettings(): z.output<typeof Settings> {
  const parsed = Settings.safeParse(config);
  if (!parsed.success) throw new Error(`config.ts: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const { feeds } = loadSettings();
const HOSTS = [...new Set(feeds.map((feed) => new URL(feed.url).hostname))];

/** A configured feed's name, or a feed URL on one of the configured hosts. */
function resolveFeed(feed: string): { name: string | null; url: string } {
  const named = feeds.find((candidate) => candidate.name === feed);
  if (named) return named;
  const url = URL.parse(feed);
  if (url && (url.protocol === "https:" || url.protocol === "http:") && HOSTS.includes(url.hostname)) {
    return { name: feeds.find((candidate) => candidate.url === url.href)?.name ?? null, url: url.href };
  }
  throw new Error(
    `unknown feed "${feed.slice(0, 200)}": name one of ${feeds.map((f) => f.name).join(", ")}, ` +
      `or give a feed URL on ${HOSTS.join(", ")}`,
  );
}

async function fetchFeed(url: string, signal: AbortSignal): Promise<Feed> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: {
        accept: "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        "user-agent": "isola-template-rss",
      },
      signal,
    });
  } catch (error) {
    throw new Error(`could not fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`the feed at ${url} answered ${response.status} ${response.statusText}`.trim());
  const body = await response.text();
  if (body.trim() === "") throw new Error(`the feed at ${url} is empty`);
  try {
    return readFeed(body, response.url || url);
  } catch (error) {
    throw new Error(`the document at ${url} cannot be read as a feed: ${(error as Error).message}`);
  }
}

const Item = z.object({
  title: z.string(),
  link: z.string().nullable(),
  published: z.string().nullable(),
  author: z.string().nullable(),
  summary: z.string(),
});
const limit = z.number().int().min(1).max(50).default(10).describe("How many entries to return (1-50)");

/** Newest first; entries without a readable date after the dated ones, in feed order. */
const byDate = (a: { published: string | null }, b: { published: string | null }) => {
  const time = (value: string | null) => (value && !Number.isNaN(Date.parse(value)) ? Date.parse(value) : -Infinity);
  return time(b.published) - time(a.published);
};

export default defineServer({
  name: "rss",
  version: "1.0.0",
  description: "Reads RSS and Atom feeds",
  egress: HOSTS,
  tools: {
    list_feeds: tool({
      title: "List feeds",
      description: "Lists the feeds this server reads, by name and URL. read_feed and search_feeds take these names.",
      input: z.object({}),
      output: z.object({ feeds: z.array(z.object({ name: z.string(), url: z.string() })) }),
      annotations: { readOnlyHint: true },
      run: () => ({ feeds }),
    }),
    read_feed: tool({
      title: "Read a feed",
      description:
        "Reads the latest entries of an RSS or Atom feed: its title and link, and each entry's title, link, date, " +
        "author and a plain-text summary, in the feed's order (usually newest first).",
      input: z.object({
        feed: z
          .string()
          .trim()
          .min(1)
          .max(2000)
          .describe(`A feed's name from list_feeds, or the URL of another feed on ${HOSTS.join(", ")}`),
        limit,
      }),
      output: z.object({
        name: z.string().nullable(),
        url: z.string(),
        kind: z.enum(["rss", "atom"]),
        title: z.string(),
        link: z.string().nullable(),
        description: z.string(),
        items: z.array(Item),
      }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run({ feed, limit }, ctx) {
        const target = resolveFeed(feed);
        const read = await fetchFeed(target.url, ctx.signal);
        return { name: target.name, url: target.url, ...read, items: read.items.slice(0, limit) };
      },
    }),
    search_feeds: tool({
      title: "Search feeds",
      description:
        "Searches the entries of every feed this server reads for words in their title or summary (every word must " +
        "appear, in any case), newest first. A feed that cannot be read is named in errors; the others still count.",
      input: z.object({
        query: z.string().trim().min(1).max(200).describe("Words to look for"),
        limit,
      }),
      output: z.object({
        items: z.array(Item.extend({ feed: z.string() })),
        errors: z.array(z.object({ feed: z.string(), error: z.string() })),
      }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run({ query, limit }, ctx) {
        const words = query.toLowerCase().split(/\s+/).filter(Boolean);
        const read = await Promise.allSettled(feeds.map((feed) => fetchFeed(feed.url, ctx.signal)));
        const items = [];
        const errors = [];
        for (const [i, outcome] of read.entries()) {
          const feed = (feeds[i] as { name: string }).name;
          if (outcome.status === "rejected") {
            errors.push({ feed, error: (outcome.reason as Error).message });
            continue;
          }
          for (const item of outcome.value.items) {
            const haystack = `${item.title} ${item.summary}`.toLowerCase();
            if (words.every((word) => haystack.includes(word))) items.push({ ...item, feed });
          }
        }
        return { items: items.sort(byDate).slice(0, limit), errors };
      },
    }),
  },
});
