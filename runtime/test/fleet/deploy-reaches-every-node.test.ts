import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HELLO_SOURCE } from "../support/api-harness.ts";
import { reportFigures } from "../support/figures.ts";
import { Fleet, type FleetNode } from "../support/fleet.ts";

// A deploy through one node must be served by every other node within a second: nodes learn
// of it from the bus, not from polling the database.

/** The hello example, greeting with another word: a new version whose answers tell which one a node serves. */
const greeting = (word: string) => HELLO_SOURCE.replace("`Hello, ", `\`${word}, `);

let fleet: Fleet;
let key: string;

beforeAll(async () => {
  fleet = await Fleet.start({ size: 3 });
}, 90_000);

afterAll(async () => {
  await fleet?.stop();
});

/** Polls `node` until the tool answers `expected`; the milliseconds it took. */
async function msUntilServed(node: FleetNode, slug: string, expected: string, since: number): Promise<number> {
  for (;;) {
    const session = await fleet.session(slug, key, node).catch(() => undefined);
    const answer = await session?.post(node, "tools/call", { name: "hello", arguments: { name: "fleet" } });
    if (answer?.json?.result?.content?.[0]?.text === expected) return performance.now() - since;
    if (performance.now() - since > 5_000) throw new Error(`${node.name} still not serving "${expected}" after 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a deploy on one node", () => {
  it("is served by the other nodes within a second, first deploy and redeploys alike", async () => {
    const [a, b, c] = fleet.nodes as [FleetNode, FleetNode, FleetNode];
    await fleet.deploy("greeter", greeting("Hello"), a);
    key = (await fleet.createKey("greeter", "fleet")).key;
    const lags: number[] = [];
    for (const word of ["Hello", "Bonjour", "Hola", "Ciao"]) {
      if (word !== "Hello") await fleet.deploy("greeter", greeting(word), a);
      const deployed = performance.now();
      const [onB, onC] = await Promise.all([
        msUntilServed(b, "greeter", `${word}, fleet!`, deployed),
        msUntilServed(c, "greeter", `${word}, fleet!`, deployed),
      ]);
      lags.push(onB, onC);
    }
    reportFigures("fleet.deploy-propagation", {
      deploys: 4,
      maxMs: Math.max(...lags),
      medianMs: lags.sort((x, y) => x - y)[Math.floor(lags.length / 2)] ?? 0,
    });
    for (const lag of lags) expect(lag).toBeLessThan(1_000);
  });
});
