// The entry point of a sandbox shard process (forked by the supervisor).
import { runShard } from "./shard.ts";

await runShard();
