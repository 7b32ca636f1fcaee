import { watch } from "node:fs";
import { AUTH_MODES, type ServerView, serverView, type VersionView, versionView } from "@isola/schema";
import type { Command, Context, Flags } from "./command.ts";
import { ApiError, errorLines, UsageError } from "./errors.ts";
import { type ApiClient, path } from "./http.ts";
import { plural } from "./output.ts";
import { checkSlug } from "./servers.ts";
import { isIgnored, readSourceFiles } from "./source-files.ts";
import { activate, liveText } from "./versions.ts";

interface Target {
  dir: string;
  slug: string;
  flags: Flags;
}

/** Creates the server (a draft with these settings) when there is none with this slug; says whether it did. */
async function ensureServer(ctx: Context, api: ApiClient, { slug, flags }: Target): Promise<boolean> {
  try {
    await api.call("GET", path`/servers/${slug}`, serverView);
    return false;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error;
  }
  const authMode = flags.choice("auth-mode", AUTH_MODES) ?? "api_key";
  const org = flags.string("org");
  await api.call("POST", "/servers", serverView, {
    body: { slug, name: flags.string("name") ?? slug, authMode, ...(org === undefined ? {} : { org }) },
  });
  if (!ctx.json) ctx.io.out(`Created server ${slug} (auth mode ${authMode}).\n`);
  return true;
}

/** One upload: compile and store the next version, then make it live. */
async function deployOnce(ctx: Context, api: ApiClient, target: Target, files: Record<string, string>) {
  const created = await ensureServer(ctx, api, target);
  let version: { data: VersionView; raw: unknown };
  try {
    version = await api.call("POST", path`/servers/${target.slug}/versions`, versionView, { body: { files } });
  } catch (error) {
    // Compile errors name files relative to the upload; print them relative to where the user is.
    if (error instanceof ApiError) error.sourceDir = target.dir;
    throw error;
  }
  const number = version.data.number;
  if (!ctx.json) {
    const tools = version.data.manifest.tools.map((tool) => tool.name);
    ctx.io.out(`Uploaded version ${number} (${plural(tools.length, "tool")}: ${tools.join(", ") || "none"}).\n`);
  }
  const server = await activate(api, target.slug, number, "deploy");
  ctx.print(
    { created, version: version.raw, server: server.raw },
    () => liveText(server.data) + nextSteps(server.data, version.data, created),
  );
}

function nextSteps(server: ServerView, version: VersionView, created: boolean): string {
  const lines: string[] = [];
  for (const name of version.manifest.secrets)
    lines.push(`It reads the secret ${name}: isola secrets set ${server.slug} ${name}`);
  if (created && server.authMode === "api_key")
    lines.push(`Clients need an API key: isola keys create ${server.slug} --name NAME`);
  return lines.map((line) => `${line}\n`).join("");
}

/** Redeploys when the .ts files change, debounced, until Ctrl-C; a failed build waits for the next change. */
async function watchAndDeploy(ctx: Context, api: ApiClient, target: Target): Promise<void> {
  let deployed = "";
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    try {
      const files = await readSourceFiles(target.dir);
      const fingerprint = JSON.stringify(files);
      if (fingerprint === deployed) return;
      deployed = fingerprint;
      await deployOnce(ctx, api, target, files);
    } catch (error) {
      ctx.io.err(`${errorLines(error).join("\n")}\n`);
    }
    if (!ctx.json) ctx.io.out(`Watching ${target.dir} for changes (Ctrl-C to stop).\n`);
  };
  // Editors save in bursts (write, rename, chmod): deploy once the burst is over, one pass at a time.
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      running = running.then(pass);
    }, 300);
  };
  const watcher = watch(target.dir, { recursive: true }, (_event, file) => {
    if (file === null || !isIgnored(file)) schedule();
  });
  running = pass();
  await ctx.io.interrupted();
  watcher.close();
  clearTimeout(timer);
  await running;
  if (!ctx.json) ctx.io.out("Stopped watching.\n");
}

export const deploy: Command = {
  name: "deploy",
  args: ["DIR"],
  options: {
    slug: { type: "string" },
    name: { type: "string" },
    "auth-mode": { type: "string" },
    org: { type: "string" },
    watch: { type: "boolean" },
  },
  synopsis: `--slug S [--name N] [--auth-mode ${AUTH_MODES.join("|")}] [--org O] [--watch]`,
  summary: "Upload a directory's TypeScript as the server's next version and make it live; print its MCP URL.",
  details: [
    "Uploads every .ts file under DIR (not .d.ts, node_modules or dotfiles); index.ts is the entry point.",
    "Creates the server first when the slug is free: --name (default: the slug), --auth-mode (default: api_key)",
    "and --org apply only then. Compile errors are printed as file:line:column and nothing is stored.",
    "--watch redeploys whenever the files change, until Ctrl-C. --json prints { created, version, server }.",
  ].join("\n"),
  async run(ctx, [dir = ""], flags) {
    const slug = flags.string("slug");
    if (slug === undefined) throw new UsageError("--slug is required: the server to deploy to");
    flags.choice("auth-mode", AUTH_MODES); // a bad value is a usage error before anything is sent
    const target = { dir, slug: checkSlug(slug), flags };
    const files = await readSourceFiles(dir);
    const api = await ctx.api();
    if (flags.boolean("watch")) return watchAndDeploy(ctx, api, target);
    await deployOnce(ctx, api, target, files);
  },
};
