import { createCookie } from "react-router";
import type { WebRequestContext } from "../../server/request-context.ts";

// The builds this browser started, newest first: the API has no list of builds, so the wizard
// remembers their ids for the dashboard's "Recent builds" (which reads each one from control,
// so a cookie with a foreign id shows nothing it may not see).

const MAX_REMEMBERED = 8;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const cookie = (secure: boolean) =>
  createCookie("isola_builds", { path: "/", httpOnly: true, sameSite: "lax", maxAge: 60 * 60 * 24 * 30, secure });

export async function recentBuildIds(request: Request, web: WebRequestContext): Promise<string[]> {
  const value = (await cookie(web.secureCookies).parse(request.headers.get("cookie"))) as unknown;
  return Array.isArray(value) ? value.filter((id): id is string => typeof id === "string" && UUID.test(id)) : [];
}

export async function rememberBuild(request: Request, web: WebRequestContext, id: string): Promise<void> {
  const ids = [id, ...(await recentBuildIds(request, web)).filter((known) => known !== id)].slice(0, MAX_REMEMBERED);
  web.setCookies.push(await cookie(web.secureCookies).serialize(ids));
}
