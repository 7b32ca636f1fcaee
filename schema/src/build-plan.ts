import { z } from "zod";
import { EGRESS_HOST, SECRET_NAME, TOOL_NAME, TOOL_SCOPE } from "./manifest.ts";

// What the model proposes before it writes code (the build's "plan" step), and what the user
// answers (its "confirm" step). The model's output is validated against these schemas: a plan
// that does not parse is invalid output, retried like any other model error.

/** One input parameter of a planned tool (the model describes inputs; the code defines them with zod). */
export const plannedParam = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/),
  type: z.enum(["string", "number", "integer", "boolean", "array", "object"]),
  description: z.string().max(500),
  required: z.boolean(),
});

export const plannedTool = z.object({
  name: z.string().regex(TOOL_NAME),
  description: z.string().min(1).max(1000),
  params: z.array(plannedParam).max(32),
  /** Reads only, no side effects: the check step may call it with `exampleInput` during the smoke run. */
  safeToCall: z.boolean(),
  exampleInput: z.record(z.string(), z.unknown()).optional(),
  scopes: z.array(z.string().regex(TOOL_SCOPE)).max(5).optional(),
});

export const plannedSecret = z.object({
  name: z.string().regex(SECRET_NAME),
  description: z.string().max(500),
  /** Where the user gets it (a settings page, a URL): shown next to the field that asks for it. */
  howToGet: z.string().max(1000),
  required: z.boolean(),
});

export const plannedQuestion = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  question: z.string().min(1).max(1000),
  /** What the build assumes when the user leaves it unanswered. */
  assumption: z.string().max(1000).optional(),
});

export const buildPlan = z.object({
  /** One paragraph: what the server will do. */
  summary: z.string().min(1).max(2000),
  server: z.object({
    name: z.string().min(1).max(100),
    description: z.string().max(1000),
  }),
  tools: z.array(plannedTool).min(1).max(50),
  resources: z
    .array(z.object({ uri: z.string().max(500), name: z.string().max(100), description: z.string().max(1000) }))
    .max(50),
  prompts: z.array(z.object({ name: z.string().regex(TOOL_NAME), description: z.string().max(1000) })).max(50),
  secrets: z.array(plannedSecret).max(20),
  /** Hosts the code must reach; each needs the user's approval at confirm. */
  egress: z.array(z.string().regex(EGRESS_HOST)).max(20),
  questions: z.array(plannedQuestion).max(10),
});

export type PlannedTool = z.infer<typeof plannedTool>;
export type BuildPlan = z.infer<typeof buildPlan>;

/** The user's answers to a plan: `POST /builds/{id}/confirm`. Secret values are stored encrypted, never in the build. */
export const confirmBuildBody = z
  .object({
    answers: z.record(z.string(), z.string().max(4000)).default({}),
    secrets: z.record(z.string().regex(SECRET_NAME), z.string().min(1).max(65_536)).default({}),
    approvedEgress: z.array(z.string().regex(EGRESS_HOST)).max(20).default([]),
  })
  .strict();
export type ConfirmBuildBody = z.infer<typeof confirmBuildBody>;
