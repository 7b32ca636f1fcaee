// The build pipeline's parts, for the composition root and for tests that check one part alone.

export * from "./build-states.ts";
export * from "./build-store.ts";
export * from "./model/index.ts";
