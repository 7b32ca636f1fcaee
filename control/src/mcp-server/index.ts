// Isola's own MCP server's parts, for the composition root (isolaMcpPlugin, through ../index.ts)
// and for tests that check one part alone.

export { answerErrors, createSecretRequest, readSecretRequest } from "../secrets/secret-requests.ts";
export { type AccessTokenVerifier, callerKey } from "./caller.ts";
export { type IsolaMcpOptions, isolaMcpPlugin } from "./plugin.ts";
export { askForSecrets, canAskByUrl, notAnswered, SECRET_TIMEOUT_MS } from "./secret-elicitation.ts";
export { SESSION_LIMITS, type Session, type SessionLimits, SessionTable } from "./sessions.ts";
export {
  forThisNode,
  isRelayed,
  replayInitialize,
  type SharedSession,
  SharedSessions,
  taggedId,
  tagServerRequests,
} from "./shared-sessions.ts";
export { nextStep } from "./tools/builds.ts";
export { mergeDeclarative } from "./tools/declarative.ts";
export { deletionRefused } from "./tools/lifecycle.ts";
