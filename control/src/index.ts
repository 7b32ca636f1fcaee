// What the composition root uses from the control plane (and the policy tables docs/API.md prints).

export { PERMISSIONS, type Permission } from "./auth/rbac.ts";
export { type BuildsOptions, buildWorkerPlugin } from "./builds/mount.ts";
export type { ControlDeps } from "./deps.ts";
export { apiUrlErrors, PROBLEMS, type ProblemCode, problemType } from "./http/problems.ts";
export { type VerifiedApiKey, verifyApiKey } from "./keys/verify.ts";
export { logMailer, type Mailer } from "./mail/mailer.ts";
export { type AccessTokenVerifier, type IsolaMcpOptions, isolaMcpPlugin } from "./mcp-server/index.ts";
export { OAUTH_KEYS_CHANNEL } from "./oauth/authorization-server.ts";
export { grantIsLive } from "./oauth/grants.ts";
export { DEFAULT_KEY_LEAD_SECONDS as OAUTH_KEY_LEAD_SECONDS, LIFETIMES as OAUTH_LIFETIMES } from "./oauth/lifetimes.ts";
export { type OAuthPluginOptions, oauthPlugin } from "./oauth/plugin.ts";
export { type Rotation, rotateSigningKey } from "./oauth/signing-keys.ts";
export { controlPlugin } from "./plugin.ts";
export {
  keyFilePath,
  type LoadKeyOptions,
  loadSecretKey,
  type SecretKey,
  secretKeyOf,
  writeKeyFile,
} from "./secrets/key.ts";
export { createOrgSecrets, ORG_MODEL_KEY } from "./secrets/org-secrets.ts";
export { rotateSecretKey } from "./secrets/rotate.ts";
export { createSecretVault, type SecretVault } from "./secrets/vault.ts";
export { type Catalogue, loadCatalogue, type Template, templateFiles } from "./templates/catalogue.ts";
