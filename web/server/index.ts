export {
  type ControlClient,
  type ControlResult,
  type ControlTransport,
  createControlClient,
} from "./control-client.ts";
export { type WebPluginOptions, webPlugin } from "./plugin.ts";
export { fetchTransport, injectTransport } from "./transports.ts";
