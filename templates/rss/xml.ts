// A small, tolerant XML reader: enough of XML for feeds, no external library. It reads
// elements, attributes, text, CDATA and character references; it skips the prolog, comments,
// processing instructions and DOCTYPEs (entities they declare are not expanded). It forgives
// what feeds in the wild get wrong (stray end tags, unclosed inner tags such as <br>, unknown
// entities, a bare "<" in text) but refuses a document that is cut short: a tag, comment or
// CDATA section that never ends, or elements still open at the end.

export interface XmlElement {
  /** As written, prefix included: "item", "dc:creator". */
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

export class XmlError extends Error {
  override name = "XmlError";
}

const NAME = /[A-Za-z_][-A-Za-z0-9_.:]*/y;
// A bare (unquoted) value may hold "/" but not end the tag with it: href=/a/b/> is href="/a/b".
const ATTRIBUTE = /\s*([A-Za-z_][-A-Za-z0-9_.:]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|((?:[^\s"'>=`/]|\/(?!>))+)))?/y;

const NAMED: Record<string, string> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
  // HTML's, which feeds use without declaring them.
  nbsp: "\u00a0",
  ndash: "\u2013",
  mdash: "\u2014",
  lsquo: "\u2018",
  rsquo: "\u2019",
  ldquo: "\u201c",
  rdquo: "\u201d",
  hellip: "\u2026",
  copy: "\u00a9",
  reg: "\u00ae",
  trade: "\u2122",
  euro: "\u20ac",
};

/** Expands character references and the entities above; leaves any other "&name;" as it is. */
export function decodeEntities(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/g, (whole, ref: string) => {
    if (ref.startsWith("#")) {
      const code = ref[1] === "x" ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
      const valid = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff);
      return valid ? String.fromCodePoint(code) : whole;
    }
    return NAMED[ref] ?? whole;
  });
}

const lineAt = (text: string, index: number) => text.slice(0, index).split("\n").length;

/** Parses `text` and returns its root element, or throws XmlError saying what is wrong and where. */
export function parseXml(text: string): XmlElement {
  const document: XmlElement = { name: "#document", attributes: {}, children: [] };
  const stack: XmlElement[] = [document];
  const top = () => stack[stack.length - 1] as XmlElement;
  const addText = (value: string) => {
    if (stack.length > 1 && value !== "") top().children.push(value);
  };
  const until = (from: number, end: string, what: string) => {
    const found = text.indexOf(end, from);
    if (found < 0) throw new XmlError(`malformed XML: ${what} at line ${lineAt(text, from)} is not closed`);
    return found;
  };

  let i = 0;
  while (i < text.length) {
    const open = text.indexOf("<", i);
    if (open < 0) {
      addText(decodeEntities(text.slice(i)));
      break;
    }
    addText(decodeEntities(text.slice(i, open)));
    if (text.startsWith("<!--", open)) {
      i = until(open + 4, "-->", "a comment") + 3;
    } else if (text.startsWith("<![CDATA[", open)) {
      const end = until(open + 9, "]]>", "a CDATA section");
      addText(text.slice(open + 9, end));
      i = end + 3;
    } else if (text.startsWith("<?", open)) {
      i = until(open + 2, "?>", "a processing instruction") + 2;
    } else if (text.startsWith("<!", open)) {
      i = skipDeclaration(text, open);
    } else if (text.startsWith("</", open)) {
      const end = until(open + 2, ">", "an end tag");
      const name = text.slice(open + 2, end).trim();
      // Closes the nearest open element of that name and whatever was left open inside it;
      // an end tag that matches nothing open is ignored.
      for (let depth = stack.length - 1; depth > 0; depth--) {
        if ((stack[depth] as XmlElement).name === name) {
          stack.length = depth;
          break;
        }
      }
      i = end + 1;
    } else {
      NAME.lastIndex = open + 1;
      const name = NAME.exec(text)?.[0];
      if (!name) {
        // "a < b" in text: a bare "<" is text.
        addText("<");
        i = open + 1;
        continue;
      }
      const element: XmlElement = { name, attributes: {}, children: [] };
      let at = open + 1 + name.length;
      for (;;) {
        ATTRIBUTE.lastIndex = at;
        const attribute = ATTRIBUTE.exec(text);
        if (!attribute) break;
        const [, key = "", double, single, bare] = attribute;
        element.attributes[key] = decodeEntities(double ?? single ?? bare ?? "");
        at = ATTRIBUTE.lastIndex;
      }
      while (at < text.length && /\s/.test(text[at] as string)) at++;
      const selfClosing = text.startsWith("/>", at);
      if (!selfClosing && text[at] !== ">") {
        if (at >= text.length) {
          throw new XmlError(`malformed XML: the tag <${name}> at line ${lineAt(text, open)} is not closed`);
        }
        throw new XmlError(`malformed XML: unexpected "${text[at]}" in the tag <${name}> at line ${lineAt(text, at)}`);
      }
      top().children.push(element);
      if (!selfClosing) stack.push(element);
      i = at + (selfClosing ? 2 : 1);
    }
  }
  if (stack.length > 1) {
    throw new XmlError(`malformed XML: the document ends inside <${top().name}> (it may be cut short)`);
  }
  const root = document.children.find((node): node is XmlElement => typeof node !== "string");
  if (!root) throw new XmlError("not XML: the document has no element");
  return root;
}

/** Skips "<!DOCTYPE ...>" (with an internal subset in [...]) and other "<!...>" declarations. */
function skipDeclaration(text: string, open: number): number {
  let brackets = 0;
  let quote = "";
  for (let at = open + 2; at < text.length; at++) {
    const c = text[at];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[") brackets++;
    else if (c === "]") brackets--;
    else if (c === ">" && brackets <= 0) return at + 1;
  }
  throw new XmlError(`malformed XML: a declaration at line ${lineAt(text, open)} is not closed`);
}

/** The name without its prefix: "dc:creator" -> "creator". */
export const localName = (name: string) => name.slice(name.indexOf(":") + 1);

/** Child elements named one of `names` (as written), in document order. */
export function childrenNamed(element: XmlElement, ...names: string[]): XmlElement[] {
  return element.children.filter((node): node is XmlElement => typeof node !== "string" && names.includes(node.name));
}

/** The first child element named `names[0]`, else the first named `names[1]`, and so on. */
export function childNamed(element: XmlElement, ...names: string[]): XmlElement | undefined {
  for (const name of names) {
    const found = childrenNamed(element, name)[0];
    if (found) return found;
  }
  return undefined;
}

/** Every piece of text inside the element, its descendants' included, joined. */
export function textOf(element: XmlElement | undefined): string {
  if (!element) return "";
  return element.children.map((node) => (typeof node === "string" ? node : textOf(node))).join("");
}
