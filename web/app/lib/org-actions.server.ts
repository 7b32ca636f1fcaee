import type { ProblemDetails } from "@isola/schema";
import { data, redirect } from "react-router";
import type { WebRequestContext } from "../../server/request-context.ts";
import { setFlash } from "./flash.server.ts";

/** A change that worked: say so on the next page (a toast), and load it afresh (no resubmit on reload). */
export async function changed(web: WebRequestContext, message: string, to: string): Promise<Response> {
  await setFlash(web, { kind: "success", message });
  return redirect(to);
}

/** A change control refused: the page shows the problem in words, above its forms. */
export function refused(problem: ProblemDetails) {
  return data({ ok: false as const, problem }, { status: problem.status });
}
