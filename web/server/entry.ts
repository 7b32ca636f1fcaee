// The server build's entry (vite.config.ts): bundled with the routes, so that the context key the
// loaders read is the very object the Fastify plugin fills.

import * as build from "virtual:react-router/server-build";
import { RouterContextProvider } from "react-router";
import { webContext } from "../app/lib/context.ts";
import type { WebRequestContext, WebServerEntry } from "./request-context.ts";

export const entry: WebServerEntry = {
  build,
  loadContext: (web: WebRequestContext) => new RouterContextProvider(new Map([[webContext, web]])),
};
