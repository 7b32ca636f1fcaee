import { createHash } from "node:crypto";

// The sign-in, consent and error pages of the authorization server: plain server-rendered HTML,
// every value escaped, no script, one small stylesheet. The web app will take these routes over
// later; until then they are what a user sees between an MCP client and its tokens. Pure.

const CSS = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}
p,dl,ul{margin:0 0 1rem}
dt{font-weight:600}dd{margin:0 0 .5rem;overflow-wrap:anywhere}
label{display:block;margin:0 0 .75rem}
input[type=email],input[type=password]{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin-top:.25rem;font:inherit;border:1px solid #a1a1aa;border-radius:.375rem}
button{font:inherit;padding:.5rem 1rem;border-radius:.375rem;border:1px solid #3f3f46;background:#fff;cursor:pointer}
button.primary{background:#18181b;color:#fff}
.row{display:flex;gap:.5rem;flex-wrap:wrap}
.error{color:#b91c1c}
.muted{color:#52525b;font-size:.875rem}
code{font-size:.875rem;overflow-wrap:anywhere}
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

/** Who asks, as the pages name them. */
export interface RequestSummary {
  client: { id: string; name: string | null; redirectHost: string };
  server: { name: string; url: string } | null;
}

function clientLabel(client: RequestSummary["client"]): Html {
  return client.name ? html`<strong>${client.name}</strong>` : html`an application (<code>${client.id}</code>)`;
}

export function loginPage(input: {
  action: string;
  abortAction: string;
  csrf: string;
  summary: RequestSummary;
  email?: string;
  error?: string;
}): string {
  const { summary } = input;
  const purpose = summary.server
    ? html`${clientLabel(summary.client)} asks to use <strong>${summary.server.name}</strong> on your behalf.`
    : html`${clientLabel(summary.client)} asks to act on your behalf.`;
  return page(
    "Sign in",
    html`<h1>Sign in to Isola</h1>
<p>${purpose}</p>
${input.error ? html`<p class="error" role="alert">${input.error}</p>` : html``}
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<label>Email<input type="email" name="email" autocomplete="username" required maxlength="254" value="${input.email ?? ""}"></label>
<label>Password<input type="password" name="password" autocomplete="current-password" required maxlength="200"></label>
<div class="row"><button class="primary" type="submit">Sign in</button></div>
</form>
<form method="post" action="${input.abortAction}"><input type="hidden" name="csrf" value="${input.csrf}">
<p class="muted">Not expecting this? <button type="submit">Cancel</button></p></form>`,
  );
}

export interface ScopeLine {
  scope: string;
  description: string;
}

export function consentPage(input: {
  action: string;
  abortAction: string;
  csrf: string;
  summary: RequestSummary & { server: { name: string; url: string } };
  email: string;
  scopes: ScopeLine[];
}): string {
  const { summary } = input;
  return page(
    "Allow access",
    html`<h1>Allow ${summary.client.name ?? "this application"} to use ${summary.server.name}?</h1>
<dl>
<dt>Server</dt><dd><strong>${summary.server.name}</strong><br><code>${summary.server.url}</code></dd>
<dt>Application</dt><dd>${clientLabel(summary.client)}<br><span class="muted">client id <code>${summary.client.id}</code></span></dd>
<dt>Sends you back to</dt><dd><code>${summary.client.redirectHost}</code></dd>
<dt>It will be able to</dt><dd><ul>${input.scopes.map((line) => html`<li><code>${line.scope}</code>: ${line.description}</li>`)}</ul></dd>
<dt>As</dt><dd>${input.email}</dd>
</dl>
<p class="muted">Only allow applications you trust. You can revoke this later in your account's grants.</p>
<div class="row">
<form method="post" action="${input.action}"><input type="hidden" name="csrf" value="${input.csrf}"><button class="primary" type="submit">Allow</button></form>
<form method="post" action="${input.abortAction}"><input type="hidden" name="csrf" value="${input.csrf}"><button type="submit">Deny</button></form>
</div>`,
  );
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
