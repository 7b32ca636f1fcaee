// A shard entry point for tests: the real shard, with DNS answered from a table (the one
// boundary a test cannot reach for real). Names not in the table do not resolve.
import { runShard } from "../../src/host/shard.ts";

export const STUB_DNS: Record<string, { address: string; family: 4 | 6 }[]> = {
  "private.example.test": [{ address: "10.0.0.5", family: 4 }],
  "mixed.example.test": [
    { address: "93.184.216.34", family: 4 },
    { address: "192.168.1.10", family: 4 },
  ],
  "loopback.example.test": [{ address: "127.0.0.1", family: 4 }],
};

await runShard({
  resolve: async (hostname) => {
    const answer = STUB_DNS[hostname.toLowerCase()];
    if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return answer;
  },
});
