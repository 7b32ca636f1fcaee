import { z } from "zod";

/** RFC 9457 problem details, as every error response carries them. */
export const problemDetails = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
  })
  .catchall(z.unknown());

/** A page of a list, oldest or newest first as the list says; `next` is the cursor for the next page. */
export const page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next: z.string().nullable() });

export const pageQuery = z.object({
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const ORG_SLUG = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;

export type ProblemDetails = z.infer<typeof problemDetails>;
