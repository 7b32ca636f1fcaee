// Resident memory, CPU time and process trees from /proc: this process and the sandbox shards it supervises, or another process's tree.
import { readdirSync, readFileSync } from "node:fs";

const PAGE_BYTES = 4096;

export function rssOf(pid: number): number {
  try {
    // statm: size resident shared text lib data dt, in pages.
    const resident = Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]);
    return resident * PAGE_BYTES;
  } catch {
    return 0;
  }
}

/** Every process's parent pid, read once from /proc. */
function parents(): Map<number, number> {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may contain spaces: the ppid follows the last ")".
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // The process ended while we looked.
    }
  }
  return parentOf;
}

/** Pids whose parent is `parent` (the shards, the load generator, esbuild's service...). */
export function childrenOf(parent: number): number[] {
  return [...parents()].filter(([, ppid]) => ppid === parent).map(([pid]) => pid);
}

/** The children of `root`, their children, and so on (from one read of /proc). */
export function descendantsOf(root: number): number[] {
  const parentOf = parents();
  const found: number[] = [];
  const queue = [root];
  for (let parent = queue.shift(); parent !== undefined; parent = queue.shift()) {
    for (const [pid, ppid] of parentOf) {
      if (ppid === parent) {
        found.push(pid);
        queue.push(pid);
      }
    }
  }
  return found;
}

export function isShard(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("shard-main");
  } catch {
    return false;
  }
}

export interface MemorySample {
  /** This process: HTTP, routing, auth, directory, sessions, usage, the embedded database. */
  frontBytes: number;
  /** The sandbox shard processes this process supervises. */
  shardBytes: number;
  shards: number;
}

export function sampleMemory(): MemorySample {
  const shards = childrenOf(process.pid).filter(isShard);
  return {
    frontBytes: rssOf(process.pid),
    shardBytes: shards.reduce((sum, pid) => sum + rssOf(pid), 0),
    shards: shards.length,
  };
}

export const mib = (bytes: number) => bytes / 1024 ** 2;

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of stat; here, after the pid and the name, 12 and 13.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export interface CpuSample {
  frontSeconds: number;
  /** By shard pid: a shard that is replaced between two samples is left out. */
  shards: Map<number, number>;
}

export function sampleCpu(): CpuSample {
  const usage = process.cpuUsage();
  return {
    frontSeconds: (usage.user + usage.system) / 1e6,
    shards: new Map(
      childrenOf(process.pid)
        .filter(isShard)
        .map((pid) => [pid, cpuOf(pid)]),
    ),
  };
}

/** CPU seconds used between two samples: this process, and the shards present in both. */
export function cpuBetween(before: CpuSample, after: CpuSample): { front: number; shards: number } {
  let shards = 0;
  for (const [pid, seconds] of after.shards) {
    const start = before.shards.get(pid);
    if (start !== undefined) shards += seconds - start;
  }
  return { front: after.frontSeconds - before.frontSeconds, shards };
}
