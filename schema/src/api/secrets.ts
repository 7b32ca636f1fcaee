import { z } from "zod";
import { SECRET_NAME } from "../manifest.ts";

/** The largest secret value, in UTF-8 bytes: room for a PEM key or a service-account JSON. */
export const MAX_SECRET_BYTES = 65_536;

export const secretName = z
  .string()
  .regex(SECRET_NAME, "UPPER_SNAKE_CASE: a capital letter, then capitals, digits or _, at most 64 characters");

// Messages here never quote the input: a value that fails validation is still a secret.
export const setSecretBody = z
  .object({
    value: z
      .string()
      .min(1, "the value is empty")
      // Characters first (cheap, and an upper bound of bytes), then the exact UTF-8 size.
      .max(MAX_SECRET_BYTES, `at most ${MAX_SECRET_BYTES} bytes`)
      .refine((value) => new TextEncoder().encode(value).length <= MAX_SECRET_BYTES, {
        message: `at most ${MAX_SECRET_BYTES} bytes in UTF-8`,
      })
      // A lone surrogate would not survive UTF-8 encoding: the runtime would read another value.
      .refine((value) => value.isWellFormed(), { message: "not valid Unicode (a lone surrogate)" }),
  })
  .strict();

/** `revision` moves with every new value: send "r<revision>" as If-Match to replace only that value. */
export const secretSetView = z.object({ name: z.string(), updatedAt: z.iso.datetime(), revision: z.number().int() });

/** A name only, never a value: set ones with their updated-at, and ones the active version declares. */
export const secretListItem = z.object({
  name: z.string(),
  /** Whether a value is stored. */
  set: z.boolean(),
  /** Whether the active version's manifest lists it in `secrets`. */
  declared: z.boolean(),
  updatedAt: z.iso.datetime().nullable(),
  /** Null when no value is stored. */
  revision: z.number().int().nullable(),
});

export const secretList = z.object({ items: z.array(secretListItem) });

export type SetSecretBody = z.infer<typeof setSecretBody>;
export type SecretListItem = z.infer<typeof secretListItem>;
