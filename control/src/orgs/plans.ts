import { readFile } from "node:fs/promises";
import { type PlanDefinition, plansFile } from "@isola/schema";

/** A plans row as the API shows it. */
export function toPlanView(row: {
  id: string;
  name: string;
  max_servers: number;
  calls_per_month: number;
  memory_mb: number;
  rate_limit_per_minute: number;
}) {
  return {
    id: row.id,
    name: row.name,
    maxServers: row.max_servers,
    callsPerMonth: row.calls_per_month,
    memoryMb: row.memory_mb,
    rateLimitPerMinute: row.rate_limit_per_minute,
  };
}

/** A plan definition as a plans row. */
export function toPlanRow(plan: PlanDefinition) {
  return {
    id: plan.id,
    name: plan.name,
    max_servers: plan.maxServers,
    calls_per_month: plan.callsPerMonth,
    memory_mb: plan.memoryMb,
    rate_limit_per_minute: plan.rateLimitPerMinute,
  };
}

/**
 * The plans in a plans file's text, or one line saying what is wrong with it. Pure. Every
 * problem is listed with where it is (`[1].maxServers`), so one start tells the operator
 * everything to fix.
 */
export function parsePlans(text: string): { ok: true; plans: PlanDefinition[] } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not valid JSON (${(error as Error).message})` };
  }
  const parsed = plansFile.safeParse(json);
  if (parsed.success) return { ok: true, plans: parsed.data };
  const problems = parsed.error.issues.map((issue) => {
    const where = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
    return where ? `${where.replace(/^\./, "")}: ${issue.message}` : issue.message;
  });
  return { ok: false, error: `expected a JSON array of plans; ${problems.join("; ")}` };
}

/** Reads and checks ISOLA_PLANS_FILE; throws one line naming the variable, the file and the problem. */
export async function readPlansFile(path: string | undefined): Promise<PlanDefinition[]> {
  if (path === undefined) return [];
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`ISOLA_PLANS_FILE ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  const result = parsePlans(text);
  if (!result.ok) throw new Error(`ISOLA_PLANS_FILE ${path}: ${result.error}`);
  return result.plans;
}
