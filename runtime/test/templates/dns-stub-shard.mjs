// A sandbox shard for the template tests: the real shard, with DNS answered from a table (the
// one boundary a test cannot reach for real). The templates' real upstream hosts resolve to
// loopback, where a fake upstream listens; every other name does not resolve. JavaScript, not
// TypeScript: it imports the sandbox's shard by path, outside the runtime package's sources.
import { runShard } from "../../../sandbox/src/host/shard.ts";

const LOOPBACK = new Set([
  "api.github.com",
  "api.notion.com",
  "api.open-meteo.com",
  "geocoding-api.open-meteo.com",
  "hnrss.org",
  "github.blog",
  "feeds.example.com",
  "api.example.com",
]);

await runShard({
  resolve: async (hostname) => {
    if (LOOPBACK.has(hostname.toLowerCase())) return [{ address: "127.0.0.1", family: 4 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
  },
});
