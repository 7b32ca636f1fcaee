import type { MeView } from "@isola/schema";
import { type MiddlewareFunction, redirect } from "react-router";
import { meContext, webContext } from "./context.ts";
import { problemResponse } from "./problems.ts";

/**
 * Middleware of every page behind sign-in: asks control who the browser is (GET /me) and puts
 * the answer in `meContext` for the loaders below; no session sends the browser to /signin,
 * which comes back here afterwards.
 */
export const signedIn: MiddlewareFunction<Response> = async ({ url, context }, next) => {
  const me = await context.get(webContext).control.get<MeView>("/me");
  if (!me.ok) {
    if (me.status === 401) {
      // `url`, not request.url: a client navigation asks for /path.data.
      throw redirect(`/signin?next=${encodeURIComponent(`${url.pathname}${url.search}`)}`);
    }
    throw problemResponse(me.problem);
  }
  context.set(meContext, me.data);
  return next();
};
