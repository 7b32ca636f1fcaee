/** What tokens and API keys share: they are revoked, or expire, or neither. */
export interface Revocable {
  expiresAt: string | null;
  revokedAt: string | null;
}

export type CredentialState = "Active" | "Expired" | "Revoked";

/** A revoked credential stays revoked after its expiry; one that expires now no longer works. */
export function credentialState(credential: Revocable, now = Date.now()): CredentialState {
  if (credential.revokedAt) return "Revoked";
  if (credential.expiresAt && Date.parse(credential.expiresAt) <= now) return "Expired";
  return "Active";
}
