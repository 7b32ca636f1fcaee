// A shard entry point for tests: the real shard, plus memory its pool does not count, grown
// on SIGUSR2 (8 MiB every 50 ms, up to 160 MiB, kept): what a server shape with more resident
// memory per heap byte than the pool assumes looks like from the shard's side.
import { runShard } from "../../src/host/shard.ts";

const STEP = 8 * 1024 ** 2;
const MAX = 160 * 1024 ** 2;
const ballast: Buffer[] = [];

process.on("SIGUSR2", () => {
  const grow = setInterval(() => {
    // alloc() zero-fills: the pages are touched, so they are resident.
    ballast.push(Buffer.alloc(STEP, 1));
    if (ballast.length * STEP >= MAX) clearInterval(grow);
  }, 50);
});

await runShard();
