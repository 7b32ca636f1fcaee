import { z } from "zod";

// API keys: how MCP clients of an `api_key` server authenticate. The name is the caller's
// identity in usage and logs; the value is shown once, at creation.

export const createApiKeyBody = z
  .object({
    /** Unique among the server's keys that are not revoked. */
    name: z.string().trim().min(1).max(100),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
    /** Calls a minute this key may make; unset: the plan's limit. */
    rateLimitPerMinute: z.number().int().min(1).max(100_000).optional(),
  })
  .strict();

export const apiKeyView = z.object({
  id: z.uuid(),
  name: z.string(),
  /** The first characters of the key, to recognise it. */
  prefix: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  rateLimitPerMinute: z.number().int().nullable(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});

/** Only the create response carries the key itself: it is never shown again. */
export const createdApiKey = apiKeyView.extend({ key: z.string() });

export const apiKeyList = z.object({ items: z.array(apiKeyView) });

export type ApiKeyView = z.infer<typeof apiKeyView>;
export type CreatedApiKey = z.infer<typeof createdApiKey>;
