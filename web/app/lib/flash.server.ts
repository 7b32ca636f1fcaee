import { createCookie } from "react-router";
import type { WebRequestContext } from "../../server/request-context.ts";
import type { Flash } from "./flash.ts";

const cookie = (secure: boolean) =>
  createCookie("isola_flash", { path: "/", httpOnly: true, sameSite: "lax", maxAge: 60, secure });

export async function setFlash(web: WebRequestContext, flash: Flash): Promise<void> {
  web.setCookies.push(await cookie(web.secureCookies).serialize(flash));
}

/** Reads the message once: the cookie is cleared in the same response. */
export async function takeFlash(request: Request, web: WebRequestContext): Promise<Flash | null> {
  const jar = cookie(web.secureCookies);
  const value = (await jar.parse(request.headers.get("cookie"))) as Partial<Flash> | null;
  if (!value) return null;
  web.setCookies.push(await jar.serialize("", { maxAge: 0 }));
  if (typeof value.message !== "string" || (value.kind !== "success" && value.kind !== "error")) return null;
  return { kind: value.kind, message: value.message.slice(0, 300) };
}
