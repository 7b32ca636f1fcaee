// How long each OAuth artifact lives, in seconds. Access tokens are JWTs that are not stored:
// they are short, and the runtime refuses them once their grant is revoked.

export const LIFETIMES = {
  /** JWT access tokens (the runtime also remembers a verified token for at most a minute). */
  AccessToken: 10 * 60,
  IdToken: 10 * 60,
  AuthorizationCode: 60,
  /** A login or consent page left open this long must start over. */
  Interaction: 30 * 60,
  /** The authorization server's own sign-in (its cookie), so that a second client asks no password. */
  Session: 24 * 60 * 60,
  /** A refresh token unused this long expires; each refresh rotates it and starts the period again. */
  RefreshToken: 30 * 24 * 60 * 60,
  /** A consent is remembered this long, unless the user revokes it first. */
  Grant: 365 * 24 * 60 * 60,
} as const;

/**
 * How long a retired signing key stays published after the next key started signing: every
 * access or ID token it signed has expired by then, with room for clock skew between nodes.
 */
export const RETIRED_KEY_SECONDS = Math.max(LIFETIMES.AccessToken, LIFETIMES.IdToken) + 5 * 60;

/**
 * How long a new signing key is published before it signs, by default: JWKS caches (the
 * runtime's keeps keys 10 minutes and refetches on an unknown kid; others may not) learn it first.
 */
export const DEFAULT_KEY_LEAD_SECONDS = 15 * 60;
