import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ServerSource, type TemplateManifest, templateManifest } from "@isola/schema";
import { z } from "zod";

/** The gallery shipped with Isola: templates/ at the repository's root. */
export const TEMPLATES_DIR = fileURLToPath(new URL("../../../templates/", import.meta.url));

/** The file a deploy writes from the settings; index.ts imports it. */
export const CONFIG_FILE = "config.ts";

export interface Template {
  manifest: TemplateManifest;
  /** Every .ts file of the folder but config.ts (which a deploy writes), by name. */
  code: ServerSource;
  /** The settings' default values, by name. */
  defaults: Record<string, unknown>;
}

export type Catalogue = ReadonlyMap<string, Template>;

/**
 * config.ts holding `values`: a module whose default export is that JSON, typed `unknown` so
 * that index.ts checks it (with zod) instead of trusting it. JSON is valid TypeScript, so no
 * value can turn into code.
 */
export function configSource(values: Record<string, unknown>): string {
  return [
    "// The settings of this server, written by the deploy from the template gallery; index.ts",
    "// checks the values when it loads.",
    `const config: unknown = ${JSON.stringify(values, null, 2)};`,
    "export default config;",
    "",
  ].join("\n");
}

/** What a deploy compiles: the template's code and config.ts with `config` over the defaults. */
export function templateFiles(template: Template, config: Record<string, unknown> = {}): ServerSource {
  if (template.manifest.settings.length === 0) return { ...template.code };
  return { ...template.code, [CONFIG_FILE]: configSource({ ...template.defaults, ...config }) };
}

/**
 * Reads every template folder under `dir` (at startup: a few small files). A folder that is not
 * a valid template stops the start with an error naming it: a broken gallery is a bug of the release.
 */
export function loadCatalogue(dir: string = TEMPLATES_DIR): Catalogue {
  const catalogue = new Map<string, Template>();
  for (const id of readdirSync(dir).sort()) {
    const folder = join(dir, id);
    if (!statSync(folder).isDirectory()) continue;
    const where = `template ${folder}`;
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(join(folder, "template.json"), "utf8"));
    } catch (error) {
      throw new Error(`${where}: template.json cannot be read: ${(error as Error).message}`);
    }
    const parsed = templateManifest.safeParse(json);
    if (!parsed.success) throw new Error(`${where}: template.json: ${z.prettifyError(parsed.error)}`);
    const manifest = parsed.data;
    if (manifest.id !== id) throw new Error(`${where}: template.json says id "${manifest.id}", not the folder's name`);
    const code: ServerSource = {};
    for (const name of readdirSync(folder).sort()) {
      if (name.endsWith(".ts") && name !== CONFIG_FILE) code[name] = readFileSync(join(folder, name), "utf8");
    }
    if (!("index.ts" in code)) throw new Error(`${where}: there is no index.ts`);
    const defaults = Object.fromEntries(manifest.settings.map((setting) => [setting.name, setting.default]));
    catalogue.set(id, { manifest, code, defaults });
  }
  return catalogue;
}
