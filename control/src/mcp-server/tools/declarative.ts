import {
  type Database,
  DECLARATIVE_LIMITS,
  type DeclarativeServer,
  declarativeServer,
  EGRESS_HOST,
  type ServerSource,
  serverSlug,
  versionView,
} from "@isola/schema";
import type { Kysely } from "kysely";
import { z } from "zod";
import { recordAudit } from "../../audit/record.ts";
import { requireActor } from "../../auth/authorize.ts";
import { problem } from "../../http/problems.ts";
import { announce, loadServer, type ServerWithOrg } from "../../servers/load.ts";
import { approveHosts, insertVersion, unapprovedEgress } from "../../servers/server-writes.ts";
import { toVersionView } from "../../servers/version-routes.ts";
import { addTool, answer, type ToolContext } from "../tool-kit.ts";

const FORMAT = `Each tool is JSON with a kind:
- static: a fixed answer. {"kind":"static","name":"faq","description":"Answers the FAQ","result":{"hours":"9-17"}}
- http: one request to an https API; {param} fills in an argument, {secret.NAME} a secret (headers and query only); response.pointer (RFC 6901) picks part of the JSON answer; the URL's host must be approved before deploying. {"kind":"http","name":"get_user","description":"Reads a user","params":{"id":{"type":"string","description":"The user's id"}},"request":{"method":"GET","url":"https://api.example.com/users/{id}","headers":{"Authorization":"Bearer {secret.API_TOKEN}"}},"response":{"pointer":"/data"}}
- prompt: a prompt answered by a model at call time. {"kind":"prompt","name":"summarise","description":"Summarises a text","params":{"text":{"type":"string"}},"template":"Summarise in one line: {text}","maxTokens":300}
params: name -> {type: string | number | integer | boolean, description?, required? (default true), enum?}. Names: letters, digits, _ . - (at most 128).`;

const toolInput = z
  .looseObject({
    kind: z.enum(["static", "http", "prompt"]),
    name: z.string().min(1).max(128),
    description: z.string().min(1).max(DECLARATIVE_LIMITS.maxDescriptionChars),
  })
  .describe("A declarative tool (its other fields by kind, as described above)");

type ToolInput = z.output<typeof toolInput>;

/**
 * The code and the declarative tools a new version starts from: version `base`, else the newest
 * (deployed or not, so that tools added one call after another add up); none for a new server.
 */
async function startingPoint(
  db: Kysely<Database>,
  server: ServerWithOrg,
  base: number | undefined,
): Promise<{ files: ServerSource; declarative: DeclarativeServer | null }> {
  let query = db.selectFrom("server_versions").select(["source", "declarative"]).where("server_id", "=", server.id);
  query = base === undefined ? query.orderBy("number", "desc").limit(1) : query.where("number", "=", base);
  const row = await query.executeTakeFirst();
  if (!row && base !== undefined) throw problem("not-found", `${server.slug} has no version ${base}`);
  return { files: row?.source ?? {}, declarative: row?.declarative ?? null };
}

/**
 * The declarative tools of the next version: the current ones, with `added` appended and those of
 * the same name (ignoring case) replaced; named after the server when there were none. Pure.
 */
export function mergeDeclarative(
  current: DeclarativeServer | null,
  server: { name: string; description: string },
  added: ToolInput[],
): { name: string; description?: string; tools: unknown[] } {
  const names = new Set(added.map((tool) => tool.name.toLowerCase()));
  const kept = (current?.tools ?? []).filter((tool) => !names.has(tool.name.toLowerCase()));
  const description = current ? current.description : server.description || undefined;
  return {
    name: current?.name ?? server.name,
    ...(description === undefined ? {} : { description }),
    tools: [...kept, ...added],
  };
}

/** Declarative tools: no model, no code; compiled with the server's code into a new version. */
export function registerDeclarativeTools(context: ToolContext): void {
  const { deps, mcp } = context;
  const { db } = deps;

  addTool(mcp, "add_declarative_tools", {
    title: "Add declarative tools",
    description: `Adds tools described as data (no model, no code) to a server: they are compiled together with the code and the earlier declarative tools of its newest version (or of baseVersion; a tool of the same name is replaced), and stored as a new version, not deployed: deploy it with deploy. approvedEgress approves hosts the new tools reach (only hosts they declare). Needs the member role.\n${FORMAT}`,
    input: z.object({
      server: serverSlug.describe("The server's slug"),
      tools: z.array(toolInput).min(1).max(DECLARATIVE_LIMITS.maxTools),
      approvedEgress: z
        .array(z.string().toLowerCase().regex(EGRESS_HOST))
        .max(20)
        .default([])
        .describe("Hosts to approve for the server's egress: only hosts the new version reaches"),
      baseVersion: z
        .number()
        .int()
        .min(1)
        .max(2_147_483_647)
        .optional()
        .describe("The version whose code and declarative tools to start from (default: the newest)"),
    }),
    output: versionView.extend({ unapprovedEgress: z.array(z.string()) }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
    async run({ server: slug, tools, approvedEgress, baseVersion }, { request }) {
      const actor = requireActor(request);
      const server = await loadServer(db, request, slug, "servers:update");
      const { files, declarative } = await startingPoint(db, server, baseVersion);
      const next = mergeDeclarative(declarative, server, tools);
      // Outside any transaction: compiling runs the code in a sandbox and takes a while.
      const result = await deps.compile(files, next);
      if (!result.ok) {
        throw problem("compile-failed", `${result.errors.length} problem(s) in the tools; nothing was stored`, {
          errors: result.errors,
        });
      }
      const { artifact } = result;
      const strangers = approvedEgress.filter((host) => !artifact.manifest.egress.includes(host));
      if (strangers.length > 0) {
        throw problem(
          "invalid-request",
          `approve only hosts the new version reaches (${artifact.manifest.egress.join(", ") || "none"}); not among them: ${strangers.join(", ")}`,
        );
      }
      if (approvedEgress.length > 0) {
        await db.transaction().execute(async (trx) => {
          await approveHosts(trx, server.id, approvedEgress);
          await recordAudit(trx, request, {
            orgId: server.org_id,
            action: "server.update",
            targetType: "server",
            targetId: server.id,
            detail: { fields: ["egressApproved"], approved: approvedEgress },
          });
        });
        await announce(
          deps.bus,
          { kind: "updated", serverId: server.id, slug: server.slug, activeVersionId: server.active_version_id },
          request,
        );
      }
      const version = await insertVersion(
        db,
        server,
        files,
        artifact,
        actor.userId,
        request,
        declarativeServer.parse(next),
      );
      const approved = [...new Set([...server.egress_approved, ...approvedEgress])];
      const unapproved = unapprovedEgress(artifact.manifest, approved);
      const view = {
        ...toVersionView({ ...version, created_by_email: actor.email }, server.active_version_id),
        unapprovedEgress: unapproved,
      };
      const hosts = unapproved.length ? ` Approve ${unapproved.join(", ")} (approvedEgress) before deploying.` : "";
      return answer(
        view,
        `Version ${version.number} of ${server.slug} is stored with ${artifact.manifest.tools.length} tool(s), not live: deploy it with deploy {"server": "${server.slug}", "version": ${version.number}}.${hosts}`,
      );
    },
  });
}
