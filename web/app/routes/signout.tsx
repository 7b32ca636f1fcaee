import { redirect } from "react-router";
import { webContext } from "../lib/context.ts";
import { setFlash } from "../lib/flash.server.ts";
import type { Route } from "./+types/signout";

// Signing out changes state: POST only (the user menu's form). A GET goes home.
export function loader() {
  return redirect("/");
}

export async function action({ context }: Route.ActionArgs) {
  const web = context.get(webContext);
  // Control clears the session cookie (relayed to the browser); an expired session is signed out already.
  const result = await web.control.post("/auth/logout");
  if (!result.ok && result.status !== 401) {
    await setFlash(web, { kind: "error", message: `Could not sign out: ${result.problem.detail}` });
    return redirect("/dashboard");
  }
  await setFlash(web, { kind: "success", message: "You are signed out." });
  return redirect("/signin");
}
