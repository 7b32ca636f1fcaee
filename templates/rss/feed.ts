// Feeds in the three shapes the web publishes them: RSS 2.0 (<rss><channel><item>), RSS 1.0
// (<rdf:RDF> with <item>s beside the <channel>) and Atom (<feed><entry>), read into one shape.
import {
  childNamed,
  childrenNamed,
  decodeEntities,
  localName,
  parseXml,
  textOf,
  type XmlElement,
  XmlError,
} from "./xml.ts";

export interface FeedItem {
  title: string;
  link: string | null;
  /** ISO 8601 when the feed's date could be read, else as the feed wrote it; null when absent. */
  published: string | null;
  author: string | null;
  /** Plain text (HTML removed), at most SUMMARY_LENGTH characters. */
  summary: string;
}

export interface Feed {
  kind: "rss" | "atom";
  title: string;
  link: string | null;
  description: string;
  items: FeedItem[];
}

export const SUMMARY_LENGTH = 500;

/** HTML (as feeds carry it in descriptions) to one line of plain text. */
export function plainText(html: string, max = SUMMARY_LENGTH): string {
  const text = decodeEntities(
    html
      .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, " ")
      .replace(/<[^>]*>/g, " ")
      .replace(/\s+/g, " "),
  )
    .replace(/\s+/g, " ")
    .trim();
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

function isoDate(raw: string): string | null {
  const value = raw.trim();
  if (value === "") return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString();
}

/** A link made absolute against the feed's own URL; null when it is no URL. */
function absolute(href: string, base: string): string | null {
  const value = href.trim();
  if (value === "") return null;
  return URL.parse(value, base)?.href ?? null;
}

const text = (element: XmlElement, ...names: string[]) => textOf(childNamed(element, ...names)).trim();

/** A title: plain text (RSS, Atom's default), or HTML when Atom says type="html". */
function titleOf(element: XmlElement): string {
  const title = childNamed(element, "title");
  const raw = textOf(title);
  if (title?.attributes.type === "html") return plainText(raw, 300);
  const line = raw.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 299).trimEnd()}…` : line;
}

function rssItem(item: XmlElement, base: string): FeedItem {
  const guid = childNamed(item, "guid");
  const permalink = guid && guid.attributes.isPermaLink !== "false" ? textOf(guid) : "";
  return {
    title: titleOf(item),
    link: absolute(text(item, "link") || permalink, base),
    published: isoDate(text(item, "pubDate", "dc:date", "published", "updated")),
    author: text(item, "dc:creator", "author") || null,
    summary: plainText(text(item, "description", "content:encoded")),
  };
}

/** Atom's link: rel="alternate" or no rel. */
function atomLink(element: XmlElement, base: string): string | null {
  const links = childrenNamed(element, "link");
  const alternate = links.find((link) => (link.attributes.rel ?? "alternate") === "alternate") ?? links[0];
  return alternate ? absolute(alternate.attributes.href ?? "", base) : null;
}

function atomEntry(entry: XmlElement, base: string): FeedItem {
  const author = childNamed(entry, "author");
  return {
    title: titleOf(entry),
    link: atomLink(entry, base),
    published: isoDate(text(entry, "published", "updated")),
    author: author ? text(author, "name") || null : null,
    summary: plainText(text(entry, "summary", "content")),
  };
}

/** An Atom document written with a prefix (<atom:feed>): the same names without it. */
function withoutPrefix(element: XmlElement, prefix: string): XmlElement {
  return {
    name: element.name.startsWith(prefix) ? element.name.slice(prefix.length) : element.name,
    attributes: element.attributes,
    children: element.children.map((node) => (typeof node === "string" ? node : withoutPrefix(node, prefix))),
  };
}

/** Reads an RSS or Atom document fetched from `url`; throws XmlError when it is neither. */
export function readFeed(xml: string, url: string): Feed {
  const root = parseXml(xml);
  const kind = localName(root.name);
  if (kind === "rss" || kind === "RDF") {
    const channel = childNamed(root, "channel");
    if (!channel) throw new XmlError(`not a feed: the <${root.name}> document has no <channel>`);
    // RSS 2.0 puts items in the channel, RSS 1.0 beside it.
    const items = [...childrenNamed(channel, "item"), ...childrenNamed(root, "item")];
    return {
      kind: "rss",
      title: titleOf(channel),
      link: absolute(text(channel, "link"), url),
      description: plainText(text(channel, "description")),
      items: items.map((item) => rssItem(item, url)),
    };
  }
  if (kind === "feed") {
    const feed = root.name === "feed" ? root : withoutPrefix(root, root.name.slice(0, -"feed".length));
    return {
      kind: "atom",
      title: titleOf(feed),
      link: atomLink(feed, url),
      description: plainText(text(feed, "subtitle")),
      items: childrenNamed(feed, "entry").map((entry) => atomEntry(entry, url)),
    };
  }
  throw new XmlError(`not an RSS or Atom feed: the document is <${root.name}>`);
}
