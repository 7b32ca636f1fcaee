// The deploys made while the soak's load runs: every few seconds, either a new server (created,
// compiled, deployed, given a key) or a new version of a server the load is calling; each is
// then called at once on a new session, one request of each tool shape.
import { FailureTally } from "./load-answer.ts";
import { quantile } from "./report.ts";
import type { SoakIsola } from "./soak-isola.ts";
import { callEveryShape, deploySoakServer, redeploySoakServer, type SoakServer } from "./soak-servers.ts";

export interface ChurnResult {
  deployed: number;
  redeployed: number;
  /** Requests to the servers just (re)deployed: 3 per deploy. */
  calls: number;
  failures: FailureTally;
  deployP50Ms: number;
  deployMaxMs: number;
  /** From the deploy's answer to the third answer on a new session. */
  firstCallsP50Ms: number;
}

export function startChurn(
  isola: SoakIsola,
  loadServers: SoakServer[],
  everySeconds: number,
): { stop(): Promise<ChurnResult> } {
  const failures = new FailureTally();
  const deployMs: number[] = [];
  const callMs: number[] = [];
  let deployed = 0;
  let redeployed = 0;
  let calls = 0;
  let round = 0;
  let running: Promise<void> = Promise.resolve();

  const once = async () => {
    round++;
    const started = performance.now();
    let server: SoakServer;
    try {
      if (round % 2 === 1) {
        server = await deploySoakServer(isola, `soak-new-${String(round).padStart(4, "0")}`, { variant: round });
        deployed++;
      } else {
        server = loadServers[(round * 37) % loadServers.length] as SoakServer;
        await redeploySoakServer(isola, server.slug, round);
        redeployed++;
      }
    } catch (error) {
      failures.add("deploy failed", (error as Error).message);
      return;
    }
    const live = performance.now();
    deployMs.push(live - started);
    try {
      await callEveryShape(isola.origin, server);
      calls += 3;
      callMs.push(performance.now() - live);
    } catch (error) {
      failures.add("call after deploy failed", (error as Error).message);
    }
  };
  // One deploy at a time: a slow compile delays the next one rather than piling up.
  const timer = setInterval(() => {
    running = running.then(once);
  }, everySeconds * 1000);

  return {
    async stop() {
      clearInterval(timer);
      await running;
      return {
        deployed,
        redeployed,
        calls,
        failures,
        deployP50Ms: quantile(deployMs, 0.5),
        deployMaxMs: Math.max(0, ...deployMs),
        firstCallsP50Ms: quantile(callMs, 0.5),
      };
    },
  };
}
