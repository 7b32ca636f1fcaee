import { BUILD_STATUSES, type BuildStatus, type Database, FINISHED_BUILD_STATUSES, type Manifest } from "@isola/schema";
import type { Selectable } from "kysely";

// The build's state machine, pure. A build waits in a claimable state, runs in a running state
// under a node's lease, and ends in a finished one:
//
//   queued -> planning -> waiting --confirm--> confirmed -> coding <-> checking -> deploying -> succeeded
//        any state but a finished one --cancel--> cancelled;  a running step's error -> failed

export type BuildRow = Selectable<Database["builds"]>;

/** Waiting for a runner. */
export const CLAIMABLE: ReadonlySet<BuildStatus> = new Set(["queued", "confirmed"]);
/** Held by a runner (under a lease). */
export const RUNNING: ReadonlySet<BuildStatus> = new Set(["planning", "coding", "checking", "deploying"]);
/** Not finished: may still be cancelled. */
export const CANCELLABLE: readonly BuildStatus[] = BUILD_STATUSES.filter(
  (status) => !FINISHED_BUILD_STATUSES.has(status),
);

/** A build picked up after its node's lease ran out this often is failed instead of resumed. */
export const MAX_RESUMES = 2;

/**
 * The status a claimed build runs in: its next step, or for a build whose node died, the step it
 * was in (a check restarts with its round's code, which is not kept between nodes: so from coding).
 */
export function runningStatusFor(status: BuildStatus): BuildStatus {
  switch (status) {
    case "queued":
    case "planning":
      return "planning";
    case "confirmed":
    case "coding":
    case "checking":
      return "coding";
    case "deploying":
      return "deploying";
    default:
      throw new Error(`a ${status} build is not claimable`);
  }
}

export interface ToolDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

/** JSON with every object's keys sorted: a stored manifest (jsonb orders keys its own way) reads as the compiler wrote it. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Tools added, changed (description, schemas or annotations) and removed between two manifests. */
export function diffTools(before: Manifest | null, after: Manifest): ToolDiff {
  const old = new Map((before?.tools ?? []).map((tool) => [tool.name, canonicalJson(tool)]));
  const next = new Map(after.tools.map((tool) => [tool.name, canonicalJson(tool)]));
  return {
    added: [...next.keys()].filter((name) => !old.has(name)).sort(),
    changed: [...next.keys()].filter((name) => old.has(name) && old.get(name) !== next.get(name)).sort(),
    removed: [...old.keys()].filter((name) => !next.has(name)).sort(),
  };
}

/** A slug from a server's name ("Weather Forecast!" -> "weather-forecast"), padded or cut to fit the slug rules. */
export function slugFromName(name: string): string {
  const base = name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .replace(/-+$/, "")
    .slice(0, 36)
    .replace(/-+$/, "");
  return base.length >= 3 ? base : `server-${base}`.replace(/-+$/, "").padEnd(3, "x");
}
