import {
  BUILD_STATUSES,
  type BuildStatus,
  type CompileDiagnostic,
  type Database,
  FINISHED_BUILD_STATUSES,
  type Manifest,
  type ServerSource,
} from "@isola/schema";
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
 * The status a claimed build runs in: its next step, or for a build whose node stopped or died,
 * the step it was in (a check restarts with its round's code, which is stored with the build).
 */
export function runningStatusFor(status: BuildStatus): BuildStatus {
  switch (status) {
    case "queued":
    case "planning":
      return "planning";
    case "confirmed":
    case "coding":
      return "coding";
    case "checking":
      return "checking";
    case "deploying":
      return "deploying";
    default:
      throw new Error(`a ${status} build is not claimable`);
  }
}

/** Where the code step of a claimed build starts: a round, and what that round already has. */
export interface CodeResumePoint {
  round: number;
  /** The round's code, written before its node went away: checked again, not asked for again. */
  files?: ServerSource;
  /** The code the last round wrote and what its check found, for the model to repair. */
  repair?: { files: ServerSource; errors: CompileDiagnostic[] };
}

/**
 * Pure. `lastCheck`: the errors of the check before `build.round`, from the build's events. A
 * build stores the files of the round it checks, so a build claimed while checking has this
 * round's code and one claimed while coding a later round has the last round's.
 */
export function codeResumePoint(
  build: Pick<BuildRow, "status" | "round" | "files">,
  lastCheck: CompileDiagnostic[] | undefined,
): CodeResumePoint {
  const round = Math.max(1, build.round);
  const files = build.files as ServerSource | null;
  if (!files) return { round };
  if (build.status === "checking") return { round, files };
  if (round > 1 && lastCheck) return { round, repair: { files, errors: lastCheck } };
  return { round };
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
