// What the composition root uses from the control plane.
export type { ControlDeps } from "./deps.ts";
export { controlPlugin } from "./plugin.ts";
