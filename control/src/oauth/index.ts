// The authorization server's parts, for the composition root's tools (the CLI) and for tests
// that check one part alone. The composition root mounts it with `oauthPlugin` (../index.ts).

export { type Applicant, admits } from "./access-policy.ts";
export { HASHED_MODELS, hashId, KyselyAdapter, kyselyAdapter, sweepExpired } from "./adapter.ts";
export { AuthorizationServer, OAUTH_KEYS_CHANNEL } from "./authorization-server.ts";
export { applyClientPolicy, LIMITS as CLIENT_LIMITS, redirectUriProblem } from "./client-policy.ts";
export { parseClients } from "./clients-file.ts";
export {
  dashboardGrantId,
  mintDashboardToken,
  parseDashboardGrant,
  patGrantId,
  sessionGrantId,
} from "./dashboard-tokens.ts";
export { redirectHost, scopeLines } from "./interactions.ts";
export { LIFETIMES, RETIRED_KEY_SECONDS } from "./lifetimes.ts";
export { isLoopbackHost } from "./metadata-fetch.ts";
export { type OAuthPluginOptions, oauthPlugin, withDefaultScope } from "./plugin.ts";
export {
  ISOLA_RESOURCE,
  isolaMcpResource,
  parseResource,
  type ResourceServerRecord,
  resolveResource,
  serverScopes,
  toolsByScope,
} from "./resources.ts";
export {
  ensureSigningKey,
  generateSigningJwk,
  keysInForce,
  loadKeySet,
  openSigningJwk,
  type Rotation,
  rotateSigningKey,
} from "./signing-keys.ts";
export { escapeHtml, html } from "./views.ts";
