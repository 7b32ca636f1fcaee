import type { MeView } from "@isola/schema";
import { createContext } from "react-router";
import type { WebRequestContext } from "../../server/request-context.ts";

/** The request's control client and cookie jar (filled by web/server/plugin.ts). */
export const webContext = createContext<WebRequestContext>();

/** The signed-in user and their orgs: set by the signed-in middleware (signed-in.server.ts). */
export const meContext = createContext<MeView>();
