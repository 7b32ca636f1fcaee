// Pure helpers of the org and account pages: how times, counts and months read, and how the
// audit page's URL filters become the API's query. Times are shown in UTC, the same on the
// server and in the browser (no hydration mismatch), as the usage month is counted in UTC.

/** "2026-03-01 14:05 UTC"; "—" when there is none. */
export function formatWhen(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export const formatCount = (value: number) => Math.round(value).toLocaleString("en-US");

const MONTH = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The month `by` months from `month` (YYYY-MM); null when `month` is not one. */
export function shiftMonth(month: string, by: number): string | null {
  const match = MONTH.exec(month);
  if (!match) return null;
  const index = Number(match[1]) * 12 + (Number(match[2]) - 1) + by;
  const year = Math.floor(index / 12);
  return `${String(year).padStart(4, "0")}-${String((index % 12) + 1).padStart(2, "0")}`;
}

/** "March 2026" for "2026-03". */
export function monthLabel(month: string): string {
  const match = MONTH.exec(month);
  if (!match) return month;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1));
  return date.toLocaleString("en-US", { month: "long", year: "numeric", timeZone: "UTC" });
}

/** How full the quota is, 0-100 (a limit of 0 with calls made is full). */
export function usagePercent(used: number, limit: number): number {
  if (limit <= 0) return used > 0 ? 100 : 0;
  return Math.min(100, Math.max(0, (used / limit) * 100));
}

/** The audit page's filters, as they appear in its URL (a GET form) and in the API's query. */
export const AUDIT_FILTERS = ["action", "actorType", "targetType", "targetId", "from", "to"] as const;
export type AuditFilter = (typeof AUDIT_FILTERS)[number];

/** A datetime-local value ("2026-03-01T14:05"), read as UTC, as the API wants it; anything else as typed. */
export function utcInstant(value: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00Z` : value;
}

/**
 * The API's query for the page's URL: the filters that are filled in (times read as UTC) and
 * the cursor. Unknown parameters are dropped here: the API refuses them, and a stale bookmark
 * should not break the page.
 */
export function auditApiQuery(search: URLSearchParams): { query: string; values: Record<AuditFilter, string> } {
  const values = Object.fromEntries(AUDIT_FILTERS.map((name) => [name, (search.get(name) ?? "").trim()])) as Record<
    AuditFilter,
    string
  >;
  const query = new URLSearchParams();
  for (const name of AUDIT_FILTERS) {
    const value = values[name];
    if (value) query.set(name, name === "from" || name === "to" ? utcInstant(value) : value);
  }
  const cursor = search.get("cursor");
  if (cursor) query.set("cursor", cursor);
  query.set("limit", "50");
  return { query: query.toString(), values };
}

/** The page's own URL for the next page: the same filters, the API's cursor. */
export function auditPageHref(values: Record<AuditFilter, string>, cursor: string | null): string {
  const query = new URLSearchParams();
  for (const name of AUDIT_FILTERS) if (values[name]) query.set(name, values[name]);
  if (cursor) query.set("cursor", cursor);
  const text = query.toString();
  return text ? `?${text}` : "?";
}
