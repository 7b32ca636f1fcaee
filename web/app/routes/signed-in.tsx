import { Outlet } from "react-router";
import { AppShell } from "../components/shell.tsx";
import { meContext } from "../lib/context.ts";
import { signedIn } from "../lib/signed-in.server.ts";
import type { Route } from "./+types/signed-in";

export const middleware: Route.MiddlewareFunction[] = [signedIn];

export function loader({ context }: Route.LoaderArgs) {
  return { me: context.get(meContext) };
}

export default function SignedInLayout({ loaderData }: Route.ComponentProps) {
  return (
    <AppShell me={loaderData.me}>
      <Outlet />
    </AppShell>
  );
}
