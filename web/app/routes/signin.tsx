import { AccountForm } from "../components/account-form.tsx";
import { PublicTopBar } from "../components/shell.tsx";
import { accountAction, redirectIfSignedIn } from "../lib/account.server.ts";
import type { Route } from "./+types/signin";

export const meta: Route.MetaFunction = () => [{ title: "Sign in · Isola" }];

export async function loader({ request, context }: Route.LoaderArgs) {
  await redirectIfSignedIn(request, context);
  return null;
}

export async function action({ request, context }: Route.ActionArgs) {
  return accountAction("signin", request, context);
}

export default function SignIn({ actionData }: Route.ComponentProps) {
  return (
    <>
      <PublicTopBar />
      <AccountForm kind="signin" errors={actionData} />
    </>
  );
}
