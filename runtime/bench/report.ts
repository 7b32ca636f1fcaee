// Formatting for the benchmark's tables (markdown, so that a run pastes into docs/BENCHMARKS.md).

export function table(header: string[], rows: string[][]): string {
  const width = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) => `| ${header.map((_, i) => (row[i] ?? "").padEnd(width[i] ?? 0)).join(" | ")} |`;
  return [line(header), line(width.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export const ms = (n: number) => `${n.toFixed(n < 10 ? 2 : 1)} ms`;
export const perSecond = (n: number) => Math.round(n).toLocaleString("en-US");
export const ratio = (n: number) => `${n.toFixed(2)}x`;
/** Microseconds of CPU. */
export const cpu = (us: number) => `${Math.round(us)} us`;

/** Runs `work` over `items`, at most `concurrency` at a time. */
export async function inBatches<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
