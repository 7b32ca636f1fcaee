import type { Config } from "@react-router/dev/config";

// Rendered on the server by the Isola process itself (web/server/plugin.ts), never prerendered.
export default {
  appDirectory: "app",
  buildDirectory: "build",
  ssr: true,
} satisfies Config;
