import { z } from "zod";
import { AUTH_MODES } from "../db/tables.ts";
import { EGRESS_HOST, SECRET_NAME } from "../manifest.ts";
import { secretName, setSecretBody } from "./secrets.ts";
import { serverSlug, serverView, versionView } from "./servers.ts";

/**
 * The template gallery: ready-made servers (templates/<id>/ at the repository's root) that
 * deploy without a model. Each folder holds `template.json` (a `templateManifest`), `index.ts`
 * (guest API code) and, when it has settings, `config.ts` (written from them at deploy time).
 */

/** A template's id is its folder's name: lowercase letters, digits and inner hyphens. */
export const TEMPLATE_ID = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
/** A setting's name, as index.ts reads it from config.ts: camelCase. */
export const TEMPLATE_SETTING = /^[a-z][A-Za-z0-9]{0,63}$/;

export const templateId = z.string().regex(TEMPLATE_ID, "lowercase letters, digits and hyphens, 2-40 characters");

export const templateSecret = z
  .object({
    name: secretName,
    /** What the code does with it. */
    description: z.string().min(1).max(500),
    /** Where a person gets one, step by step. */
    howToGet: z.string().min(1).max(1000),
    /** Deploying without a required secret is refused; an optional one only changes behaviour. */
    required: z.boolean(),
  })
  .strict();

export const templateSetting = z
  .object({
    name: z.string().regex(TEMPLATE_SETTING, "camelCase: a lowercase letter, then letters and digits"),
    description: z.string().min(1).max(1000),
    /** The value used when a deploy does not give one; any JSON. */
    default: z.json(),
  })
  .strict();

const unique = (names: string[]) => new Set(names).size === names.length;

/** template.json. `egress` and `secrets` are what the code declares with its default settings. */
export const templateManifest = z
  .object({
    id: templateId,
    name: z.string().trim().min(1).max(100),
    description: z.string().trim().min(1).max(2000),
    egress: z.array(z.string().regex(EGRESS_HOST, 'a host name like "api.example.com"')).max(20),
    secrets: z.array(templateSecret).max(20),
    /** The auth mode a deploy gets unless it names another. */
    authMode: z.enum(AUTH_MODES),
    /** Values config.ts holds; a deploy may change them (`config`). */
    settings: z.array(templateSetting).max(20),
  })
  .strict()
  .refine((t) => unique(t.secrets.map((s) => s.name)), { message: "a secret is listed twice", path: ["secrets"] })
  .refine((t) => unique(t.settings.map((s) => s.name)), { message: "a setting is listed twice", path: ["settings"] });

/** What the gallery lists: the manifest as it is. */
export const templateSummary = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  egress: z.array(z.string()),
  secrets: z.array(templateSecret),
  authMode: z.enum(AUTH_MODES),
  settings: z.array(templateSetting),
});

export const templateList = z.object({ items: z.array(templateSummary) });

/** One template with the files a deploy compiles (config.ts with the default settings). */
export const templateDetail = templateSummary.extend({ files: z.record(z.string(), z.string()) });

/**
 * A record whose keys must match `pattern`. zod's own message for a bad key ("Invalid key in
 * record") does not say the rule; this one names the key and the rule (never the value).
 */
function keyedBy<V extends z.ZodType>(pattern: RegExp, rule: string, value: V) {
  return z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      if (!pattern.test(key)) ctx.addIssue({ code: "custom", path: [key], message: rule });
    }
  });
}

export const templateDeployBody = z
  .object({
    slug: serverSlug,
    /** Default: the template's name. */
    name: z.string().trim().min(1).max(100).optional(),
    /** Default: the template's authMode. */
    authMode: z.enum(AUTH_MODES).optional(),
    /** The org's slug; optional when you belong to one org (or use a token, which names one). */
    org: z.string().optional(),
    /** Values of the secrets the template declares, by name: stored encrypted, never returned. */
    secrets: keyedBy(
      SECRET_NAME,
      "a secret's name is UPPER_SNAKE_CASE: a capital letter, then capitals, digits or _, at most 64 characters",
      setSecretBody.shape.value,
    ).optional(),
    /** Settings to change, by name (the others keep their defaults); index.ts checks them when it loads. */
    config: keyedBy(
      TEMPLATE_SETTING,
      "a setting's name is camelCase: a lowercase letter, then letters and digits",
      z.json(),
    ).optional(),
  })
  .strict();

export const templateDeployView = z.object({ server: serverView, version: versionView });

export type TemplateManifest = z.infer<typeof templateManifest>;
export type TemplateSummary = z.infer<typeof templateSummary>;
export type TemplateDetail = z.infer<typeof templateDetail>;
export type TemplateDeployBody = z.infer<typeof templateDeployBody>;
