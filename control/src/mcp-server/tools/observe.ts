import {
  LOG_ENTRY_ID,
  orgUsageView,
  SERVER_LOG,
  serverLogPage,
  serverSlug,
  usageQuery,
  usageView,
} from "@isola/schema";
import { z } from "zod";
import { readLogPage } from "../../observe/log-routes.ts";
import { llmTotals } from "../../observe/org-usage-query.ts";
import { readUsage } from "../../observe/usage-routes.ts";
import { loadServer } from "../../servers/load.ts";
import { addTool, answer, type ToolContext } from "../tool-kit.ts";

/** A server's live log and usage, as the REST API reads them (servers:read, usage:read). */
export function registerObserveTools(context: ToolContext): void {
  const { deps, mcp } = context;

  addTool(mcp, "read_logs", {
    title: "Read a server's logs",
    description:
      "The recent lines of a server's live log (its last 1000 are kept): what its tools logged, errors, limits hit, deploys. The last `limit` lines, or with `after` (a line's id, e.g. lastId of a previous call) the first `limit` lines after it.",
    input: z.object({
      server: serverSlug.describe("The server's slug"),
      limit: z.number().int().min(1).max(SERVER_LOG.maxLength).default(100),
      after: z.string().regex(LOG_ENTRY_ID, "a log line id such as 1735689600000-0").optional(),
    }),
    output: serverLogPage,
    annotations: { readOnlyHint: true },
    async run({ server: slug, limit, after }, { request }) {
      const server = await loadServer(deps.db, request, slug, "servers:read");
      const page = await readLogPage(deps.bus, server.id, { limit, after });
      const lines = page.items.map((line) => `${line.at} ${line.level} [${line.source}] ${line.message}`);
      return answer(page, lines.length ? lines.join("\n") : `No log lines${after ? ` after ${after}` : ""}.`);
    },
  });

  addTool(mcp, "read_usage", {
    title: "Read a server's usage",
    description:
      "Tool calls of a server over a window: totals, each step and each tool, with outcomes, latency percentiles (ms) and bytes; and `llm`, the completions its tools asked of the platform's model (ctx.llm) and their tokens. Default the last 24 hours by hour; `from`/`to` are ISO 8601 times, `step` such as 5m, 1h or 1d (at most 1440 steps).",
    input: usageQuery.extend({ server: serverSlug.describe("The server's slug") }),
    output: usageView.extend({ llm: orgUsageView.shape.llm }),
    annotations: { readOnlyHint: true },
    async run({ server: slug, ...window }, { request }) {
      const usage = await readUsage(deps, request, slug, window);
      const server = await loadServer(deps.db, request, slug, "usage:read");
      const llm = await llmTotals(
        deps.db,
        { orgId: server.org_id, serverId: server.id },
        new Date(usage.from),
        new Date(usage.to),
      );
      const { totals } = usage;
      return answer(
        { ...usage, llm },
        `${usage.server}, ${usage.from} to ${usage.to}: ${totals.calls} call(s), ${totals.errors} error(s); ${llm.calls} ctx.llm completion(s), ${llm.inputTokens} input and ${llm.outputTokens} output token(s).`,
      );
    },
  });
}
