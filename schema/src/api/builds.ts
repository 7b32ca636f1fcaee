import { z } from "zod";
import { buildPlan } from "../build-plan.ts";
import { compileDiagnostic } from "../compile.ts";
import { AUTH_MODES, BUILD_STATUSES } from "../db/tables.ts";
import { serverSlug } from "./servers.ts";

// The build API: a brief in, a live server out, in steps the client follows as events.

/** States a build does not leave. */
export const FINISHED_BUILD_STATUSES: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled"]);

export const MAX_PROMPT_CHARS = 20_000;

const prompt = z.string().trim().min(10, "describe the server in at least 10 characters").max(MAX_PROMPT_CHARS);

/** `POST /builds`: a new server from a brief. */
export const createBuildBody = z
  .object({
    prompt,
    /** The new server's slug; derived from the plan's name when absent. */
    slug: serverSlug.optional(),
    /** The org's slug; optional when you belong to one org (or use a token, which names one). */
    org: z.string().optional(),
    authMode: z.enum(AUTH_MODES).default("oauth"),
    /** Deploy the version once it is built (default); false stops at the version. */
    autoDeploy: z.boolean().default(true),
  })
  .strict();

/** `POST /servers/{slug}/builds`: iterate on a live server. */
export const iterateBuildBody = z.object({ prompt, autoDeploy: z.boolean().default(true) }).strict();

export const buildView = z.object({
  id: z.uuid(),
  kind: z.enum(["new", "iterate"]),
  status: z.enum(BUILD_STATUSES),
  prompt: z.string(),
  org: z.string(),
  /** The server's slug once it has one. */
  server: z.string().nullable(),
  authMode: z.enum(AUTH_MODES),
  autoDeploy: z.boolean(),
  plan: buildPlan.nullable(),
  round: z.number().int(),
  maxRounds: z.number().int(),
  /** The version it made, once made. */
  version: z.number().int().nullable(),
  /** The server's MCP URL once deployed. */
  url: z.string().nullable(),
  error: z.object({ message: z.string(), errors: z.array(compileDiagnostic).optional() }).nullable(),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
});
export type BuildView = z.infer<typeof buildView>;

/** One event of a build's history; `seq` is its SSE id. */
export const buildEvent = z.object({
  seq: z.number().int().min(1),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  at: z.iso.datetime(),
});
export type BuildEvent = z.infer<typeof buildEvent>;

export const buildEventList = z.object({ items: z.array(buildEvent) });

export const buildId = z.uuid();
