/**
 * The web's own defence against cross-site form posts (CSRF): every request that may change
 * something must say it came from this site. Browsers send Origin with every POST (forms and
 * fetch alike); without it, Sec-Fetch-Site must say same-origin. The session cookie is also
 * SameSite=Lax, but that does not cover signing a victim into an attacker's account.
 */
export interface OriginFacts {
  method: string;
  origin: string | undefined;
  secFetchSite: string | undefined;
  /** The Host header: the site the browser believes it is talking to. */
  host: string | undefined;
  /** PUBLIC_URL's origin. */
  publicOrigin: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Why the request must be refused, in words; null when it may go on. */
export function crossSiteRefusal(facts: OriginFacts): string | null {
  if (SAFE_METHODS.has(facts.method.toUpperCase())) return null;
  const { origin } = facts;
  if (origin === undefined) {
    return facts.secFetchSite === "same-origin" ? null : "the browser did not say which site sent this form";
  }
  if (origin === facts.publicOrigin) return null;
  // Behind a proxy or on another name for this host (127.0.0.1 vs localhost): the page and the
  // form share the host the browser sent. A cross-site page cannot choose the Host header.
  const host = URL.parse(origin)?.host;
  if (host && facts.host && host === facts.host.toLowerCase()) return null;
  return `this form was sent from another site (${origin.slice(0, 100)})`;
}
