import { randomBytes } from "node:crypto";

/**
 * The Content-Security-Policy of every web page: scripts only from this site or inline with the
 * response's nonce (React Router's hydration data, React's streaming), everything else from this
 * site only, never framed. The OAuth pages send a stricter one of their own (no scripts at all:
 * app/lib/oauth-interaction.server.ts); files under /assets need none.
 *
 * - style-src-attr 'unsafe-inline': pages are rendered with `style="..."` attributes (a quota
 *   bar's width, a few margins). An attribute cannot run script; <style> elements stay 'self'.
 * - img-src data:: small images inlined by the CSS bundle.
 * - No form-action: browsers apply it to the redirects after a post too (sign-out, the OAuth
 *   flows end on another host); the Origin check (form-origin.ts) guards the web's own forms.
 */
export function pagePolicy(nonce: string): string {
  if (!NONCE.test(nonce)) throw new Error("a CSP nonce is base64 of at least 16 random bytes");
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Base64 (CSP's nonce grammar), 16 bytes or more: anything else would break out of the header or be guessable. */
const NONCE = /^[A-Za-z0-9+/]{22,}={0,2}$/;

/** A fresh nonce for one response: 128 random bits. */
export function newNonce(): string {
  return randomBytes(16).toString("base64");
}
