import { appendFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Fleet tests and failure drills print what they measured, so that a CI log shows the figures
// (recovery times, lost calls, usage counted) and not only a pass. Each line also lands in
// results/figures.jsonl for whoever wants to compare runs.

const RESULTS_DIR = fileURLToPath(new URL("../../../results/", import.meta.url));

export type Figures = Record<string, number | string | boolean>;

/** `[figures] drill-name: key=value key=value` on stdout, and one JSON line in results/figures.jsonl. */
export function reportFigures(name: string, figures: Figures): void {
  const line = Object.entries(figures)
    .map(([key, value]) => `${key}=${typeof value === "number" ? round(value) : value}`)
    .join(" ");
  console.log(`[figures] ${name}: ${line}`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  appendFileSync(
    `${RESULTS_DIR}figures.jsonl`,
    `${JSON.stringify({ name, at: new Date().toISOString(), ...figures })}\n`,
  );
}

const round = (value: number) => (Number.isInteger(value) ? value : Math.round(value * 100) / 100);
