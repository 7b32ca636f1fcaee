// A CPU profile of this process over one measured phase only (not setup, not the other
// targets), as `node --cpu-prof` would write it. Open it in Chrome DevTools or speedscope.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await work();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    const path = join(tmpdir(), `mcp-bench-${name}-${process.pid}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    process.stderr.write(`  CPU profile of ${name}: ${path}\n`);
    session.disconnect();
  }
}
