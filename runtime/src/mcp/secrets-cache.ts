/**
 * A server's decrypted secrets, kept in memory for a few seconds: decrypting is a query and
 * an AES pass per secret, too much for every call. A change is announced on the Bus, so a new
 * value is used by the next call on every node (forget); the TTL is the backstop.
 */
export class SecretsCache {
  readonly #load: (serverId: string) => Promise<Record<string, string>>;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, { value: Promise<Record<string, string>>; expiresAt: number }>();

  constructor(load: (serverId: string) => Promise<Record<string, string>>, ttlMs = 10_000) {
    this.#load = load;
    this.#ttlMs = ttlMs;
  }

  get(serverId: string): Promise<Record<string, string>> {
    const now = Date.now();
    const cached = this.#entries.get(serverId);
    if (cached && cached.expiresAt > now) return cached.value;
    const value = this.#load(serverId);
    // A failed load is not remembered.
    value.catch(() => this.#entries.delete(serverId));
    if (this.#entries.size > 10_000) this.#entries.clear();
    this.#entries.set(serverId, { value, expiresAt: now + this.#ttlMs });
    return value;
  }

  forget(serverId: string): void {
    this.#entries.delete(serverId);
  }
}
