// What the composition root uses from the control plane.
export type { ControlDeps } from "./deps.ts";
export { type VerifiedApiKey, verifyApiKey } from "./keys/verify.ts";
export { controlPlugin } from "./plugin.ts";
export {
  keyFilePath,
  type LoadKeyOptions,
  loadSecretKey,
  type SecretKey,
  secretKeyOf,
  writeKeyFile,
} from "./secrets/key.ts";
export { rotateSecretKey } from "./secrets/rotate.ts";
export { createSecretVault, type SecretVault } from "./secrets/vault.ts";
