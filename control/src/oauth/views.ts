import { createHash } from "node:crypto";

// The pages the authorization server (oidc-provider) renders itself: its error page and the
// sign-out pages of its own routes. Plain server-rendered HTML, every value escaped, no script,
// one small stylesheet. The sign-in and consent pages are the web app's (web/app/routes/oauth-*).
// Pure.

const CSS = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}
p{margin:0 0 1rem}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #3f3f46;background:#fff;cursor:pointer}
button.primary{background:#18181b;color:#fff}
.row{display:flex;gap:.5rem;flex-wrap:wrap}
.muted{color:#52525b;font-size:.875rem}
`.trim();

/** Pages allow this stylesheet and nothing else: no script, no framing, no other origin. */
export const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": `default-src 'none'; style-src 'sha256-${createHash("sha256").update(CSS).digest("base64")}'; frame-ancestors 'none'; base-uri 'none'`,
  "x-frame-options": "DENY",
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the page's
  // own form posts, which the interaction's origin check must refuse; the client's redirect URI
  // (another origin) still gets no referrer.
  "referrer-policy": "same-origin",
  "x-content-type-options": "nosniff",
};

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ENTITIES[char] as string);
}

/** Marks HTML built from escaped parts. */
interface Html {
  readonly html: string;
}

/** A template tag that escapes every interpolated string (Html values and arrays of them pass as they are). */
export function html(strings: TemplateStringsArray, ...values: (string | number | Html | Html[])[]): Html {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    const part = Array.isArray(value)
      ? value.map((item) => item.html).join("")
      : typeof value === "object"
        ? value.html
        : escapeHtml(String(value));
    out += part + (strings[i + 1] ?? "");
  });
  return { html: out };
}

function page(title: string, body: Html): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>${escapeHtml(title)} · Isola</title><style>${CSS}</style></head>
<body><main>${body.html}</main></body></html>`;
}

export function errorPage(title: string, message: string): string {
  return page(title, html`<h1>${title}</h1><p>${message}</p><p class="muted">You can close this page.</p>`);
}

/**
 * Signing out of the authorization server (the library's RP-initiated logout, also the step it
 * takes when someone else signs in on a browser that has a session). `form` is the library's own
 * hidden form (its action and anti-forgery field), placed as it is.
 */
export function logoutPage(form: string, host: string): string {
  return page(
    "Sign out",
    html`<h1>Sign out of Isola at ${host}?</h1>
${{ html: form }}
<div class="row"><button class="primary" type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button></div>`,
  );
}

export function signedOutPage(): string {
  return page("Signed out", html`<h1>Signed out</h1><p>You can close this page.</p>`);
}
