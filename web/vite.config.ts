import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { reactRouter } from "@react-router/dev/vite";
import { defineConfig } from "vite";

// The Geist font files, from the npm package (its exports map hides them): bundled as hashed
// assets, so pages never reach an external font host.
const geistFonts = join(dirname(createRequire(import.meta.url).resolve("geist/font")), "fonts");

export default defineConfig({
  plugins: [reactRouter()],
  resolve: { alias: { "geist-fonts": geistFonts } },
  environments: {
    ssr: {
      build: {
        // The server build's entry is ours: it hands the Fastify plugin the routes and the load
        // context. It imports the shared schemas at run time (Vite will not externalize a
        // TypeScript package itself): the process has them loaded, and kysely stays out.
        // (rollupOptions: React Router 8.4 reads it before Vite 8's rolldownOptions.)
        rollupOptions: { input: "./server/entry.ts", external: ["@isola/schema"] },
      },
    },
  },
});
