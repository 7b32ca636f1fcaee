// Searches a Notion workspace and reads pages through Notion's API (POST /v1/search,
// GET /v1/pages/{id}, GET /v1/blocks/{id}/children), with an integration's secret.
import { defineServer, tool, z } from "isola";
import config from "./config.ts";

const Settings = z.object({
  apiUrl: z.url({ protocol: /^https?$/, error: "apiUrl must be an http(s) URL, like https://api.notion.com" }),
  notionVersion: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "notionVersion is a date like 2022-06-28"),
});

function loadSettings(): z.output<typeof Settings> {
  const parsed = Settings.safeParse(config);
  if (!parsed.success) throw new Error(`config.ts: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

const settings = loadSettings();
const API = settings.apiUrl.replace(/\/+$/, "");
const HOST = new URL(API).hostname;

// What the tools read of Notion's answers; everything else is left out.
const RichText = z.array(z.object({ plain_text: z.string().default("") }).passthrough());
const Property = z.object({ type: z.string() }).passthrough();
const Item = z
  .object({
    object: z.enum(["page", "database", "data_source"]),
    id: z.string(),
    url: z.string().nullish(),
    last_edited_time: z.string().nullish(),
    archived: z.boolean().optional(),
    in_trash: z.boolean().optional(),
    title: RichText.optional(),
    properties: z.record(z.string(), Property).default({}),
  })
  .passthrough();
const SearchAnswer = z.object({
  results: z.array(Item),
  next_cursor: z.string().nullish(),
  has_more: z.boolean().default(false),
});
const Block = z.object({ type: z.string(), has_children: z.boolean().default(false) }).passthrough();
const BlocksAnswer = z.object({ results: z.array(Block), has_more: z.boolean().default(false) });
const ErrorAnswer = z.object({ code: z.string().optional(), message: z.string().optional() });

type Item = z.output<typeof Item>;

const plain = (parts: { plain_text: string }[] | undefined) => (parts ?? []).map((part) => part.plain_text).join("");

/** A property's value as text: what a person would read in the page's header. */
function propertyText(property: Record<string, unknown> & { type: string }): string {
  const value = property[property.type];
  if (value === null || value === undefined) return "";
  switch (property.type) {
    case "title":
    case "rich_text":
      return plain(value as { plain_text: string }[]);
    case "select":
    case "status":
      return String((value as { name?: string }).name ?? "");
    case "multi_select":
      return (value as { name?: string }[]).map((option) => option.name ?? "").join(", ");
    case "people":
      return (value as { name?: string; id?: string }[]).map((person) => person.name ?? person.id ?? "").join(", ");
    case "date": {
      const date = value as { start?: string; end?: string | null };
      return date.end ? `${date.start} - ${date.end}` : String(date.start ?? "");
    }
    case "number":
    case "checkbox":
    case "url":
    case "email":
    case "phone_number":
    case "created_time":
    case "last_edited_time":
      return String(value);
    case "formula": {
      const formula = value as Record<string, unknown> & { type?: string };
      return formula.type ? String(formula[formula.type] ?? "") : "";
    }
    default:
      return `(${property.type})`;
  }
}

function titleOf(item: Item): string {
  if (item.title) return plain(item.title);
  for (const property of Object.values(item.properties)) {
    if (property.type === "title") return propertyText(property);
  }
  return "";
}

/** One block as a line of text, markdown-like; blocks without text become a marker of their kind. */
function blockLine(block: z.output<typeof Block>): string {
  const body = (block as Record<string, unknown>)[block.type] as
    | { rich_text?: { plain_text: string }[]; checked?: boolean; title?: string }
    | undefined;
  const text = plain(body?.rich_text);
  switch (block.type) {
    case "heading_1":
      return `# ${text}`;
    case "heading_2":
      return `## ${text}`;
    case "heading_3":
      return `### ${text}`;
    case "bulleted_list_item":
      return `- ${text}`;
    case "numbered_list_item":
      return `1. ${text}`;
    case "to_do":
      return `- [${body?.checked ? "x" : " "}] ${text}`;
    case "quote":
      return `> ${text}`;
    case "code":
      return `\`\`\`\n${text}\n\`\`\``;
    case "child_page":
    case "child_database":
      return `[${block.type === "child_page" ? "page" : "database"}: ${body?.title ?? ""}]`;
    default:
      return text || `[${block.type}]`;
  }
}

function upstreamMessage(text: string): string {
  try {
    const parsed = ErrorAnswer.safeParse(JSON.parse(text));
    if (parsed.success && (parsed.data.code || parsed.data.message)) {
      return [parsed.data.code, parsed.data.message].filter(Boolean).join(": ").slice(0, 300);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

async function notion<S extends z.ZodType>(
  path: string,
  answer: S,
  ctx: { env: Readonly<Record<string, string>>; signal: AbortSignal },
  body?: unknown,
): Promise<z.output<S>> {
  const token = ctx.env.NOTION_TOKEN;
  if (!token) throw new Error("the NOTION_TOKEN secret is not set: set it to the integration's secret");
  let response: Response;
  try {
    response = await fetch(`${API}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "notion-version": settings.notionVersion,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: ctx.signal,
    });
  } catch (error) {
    throw new Error(`could not reach ${HOST}: ${(error as Error).message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    const said = upstreamMessage(text);
    const hint =
      response.status === 401
        ? " (the NOTION_TOKEN secret is not a valid integration secret)"
        : response.status === 404
          ? " (or it is not shared with the integration: in Notion, ... > Connections > add it)"
          : response.status === 429
            ? " (rate limited: wait a moment and retry)"
            : "";
    throw new Error(`Notion answered ${response.status}${said ? `: ${said}` : ""}${hint}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`Notion answered ${response.status} with something that is not JSON`);
  }
  const parsed = answer.safeParse(json);
  if (!parsed.success) {
    throw new Error(`Notion's answer does not have the expected shape: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

const notionId = z
  .string()
  .trim()
  .regex(
    /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i,
    "a Notion id: 32 hex digits, dashes allowed",
  )
  .describe("A page's id, as search_notion returns it (32 hex digits, dashes allowed)");

export default defineServer({
  name: "notion-search",
  version: "1.0.0",
  description: "Search a Notion workspace and read its pages",
  secrets: ["NOTION_TOKEN"],
  egress: [HOST],
  tools: {
    search_notion: tool({
      title: "Search Notion",
      description:
        "Searches the titles of the Notion pages and databases shared with this server's integration. Returns each " +
        "match's id, kind, title, link and last edit time, most recently edited first; pass nextCursor back as " +
        "cursor for more.",
      input: z.object({
        query: z.string().trim().max(200).default("").describe("Words in the title; empty lists everything shared"),
        kind: z.enum(["page", "database", "any"]).default("any").describe("Only pages, only databases, or both"),
        limit: z.number().int().min(1).max(100).default(10).describe("How many to return (1-100)"),
        cursor: z.string().max(200).optional().describe("nextCursor from an earlier answer, for the next page"),
      }),
      output: z.object({
        items: z.array(
          z.object({
            id: z.string(),
            kind: z.string(),
            title: z.string(),
            url: z.string().nullable(),
            lastEdited: z.string().nullable(),
          }),
        ),
        nextCursor: z.string().nullable(),
      }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run({ query, kind, limit, cursor }, ctx) {
        const found = await notion("/v1/search", SearchAnswer, ctx, {
          ...(query ? { query } : {}),
          ...(kind === "any" ? {} : { filter: { property: "object", value: kind } }),
          sort: { direction: "descending", timestamp: "last_edited_time" },
          page_size: limit,
          ...(cursor ? { start_cursor: cursor } : {}),
        });
        return {
          items: found.results
            .filter((item) => !item.archived && !item.in_trash)
            .map((item) => ({
              id: item.id,
              kind: item.object === "page" ? "page" : "database",
              title: titleOf(item),
              url: item.url ?? null,
              lastEdited: item.last_edited_time ?? null,
            })),
          nextCursor: found.has_more ? (found.next_cursor ?? null) : null,
        };
      },
    }),
    read_page: tool({
      title: "Read a Notion page",
      description:
        "Reads a Notion page by id: its title, link, properties (as text) and the text of its first 100 blocks, one " +
        "line per block, headings and lists written as markdown.",
      input: z.object({ id: notionId }),
      output: z.object({
        id: z.string(),
        title: z.string(),
        url: z.string().nullable(),
        lastEdited: z.string().nullable(),
        properties: z.record(z.string(), z.string()),
        text: z.string(),
        truncated: z.boolean(),
      }),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run({ id }, ctx) {
        const page = await notion(`/v1/pages/${id}`, Item, ctx);
        const blocks = await notion(`/v1/blocks/${id}/children?page_size=100`, BlocksAnswer, ctx);
        const properties: Record<string, string> = {};
        for (const [name, property] of Object.entries(page.properties)) {
          if (property.type !== "title") properties[name] = propertyText(property);
        }
        return {
          id: page.id,
          title: titleOf(page),
          url: page.url ?? null,
          lastEdited: page.last_edited_time ?? null,
          properties,
          text: blocks.results.map(blockLine).join("\n"),
          truncated: blocks.has_more,
        };
      },
    }),
  },
});
