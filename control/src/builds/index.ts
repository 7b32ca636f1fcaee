// The build pipeline's parts, for the composition root and for tests that check one part alone.

export * from "./build-states.ts";
export * from "./build-store.ts";
export * from "./model/index.ts";
// A runner alone, with effects and a lease of its own: what a node runs, for tests that play a
// node (one that dies mid-build) without a whole process.
export { type BuildEffects, BuildRunner, type RunnerOptions } from "./runner.ts";
export { runSmoke, type SmokeCase, type SmokeReport, smokeCases, smokeVerdict } from "./smoke.ts";
