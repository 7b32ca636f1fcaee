const BASE = "http://isola.invalid";

/** Control characters would let a browser read the rest of the URL differently. */
const hasControlCharacter = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

/**
 * Where to go after signing in: a path on this site only. Anything else (another host,
 * `//host`, a backslash that browsers read as a slash, a scheme) goes to the dashboard.
 */
export function safeNext(next: string | null | undefined, fallback = "/dashboard"): string {
  if (!next?.startsWith("/") || next.startsWith("//") || next.includes("\\") || hasControlCharacter(next)) {
    return fallback;
  }
  const url = URL.parse(next, BASE);
  if (url?.origin !== BASE) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
