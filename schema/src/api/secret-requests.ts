import { z } from "zod";
import { secretName, setSecretBody } from "./secrets.ts";

// A secret request: Isola's MCP server asks the user for secret values through a page of Isola's
// own (URL-mode elicitation), so that the values go from the browser to Isola and never through
// the MCP client. The request names what it wants; the page answers it once.

/** The id in the page's URL: 128 random bits, base64url (22 characters). */
export const secretRequestId = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, "a secret request's id (base64url)");

export const secretRequestField = z.object({
  name: secretName,
  description: z.string().optional(),
  howToGet: z.string().optional(),
  required: z.boolean(),
});

export const secretRequestView = z.object({
  id: z.string(),
  message: z.string(),
  fields: z.array(secretRequestField),
  expiresAt: z.iso.datetime(),
});

// Names are checked against the request's fields by the handler (an unknown one is named in the
// error); values as a secret's value is. Messages never quote a value.
export const answerSecretRequestBody = z
  .object({ values: z.record(z.string().max(64), setSecretBody.shape.value) })
  .strict();

export const secretRequestAnswered = z.object({ received: z.array(z.string()) });

export type SecretRequestField = z.infer<typeof secretRequestField>;
export type SecretRequestView = z.infer<typeof secretRequestView>;
export type AnswerSecretRequestBody = z.infer<typeof answerSecretRequestBody>;
