import { Card } from "../components/card.tsx";
import { meContext } from "../lib/context.ts";
import type { Route } from "./+types/dashboard";

export const meta: Route.MetaFunction = () => [{ title: "Dashboard · Isola" }];

export function loader({ context }: Route.LoaderArgs) {
  const me = context.get(meContext);
  return { email: me.user.email, orgs: me.orgs };
}

export default function Dashboard({ loaderData }: Route.ComponentProps) {
  const { email, orgs } = loaderData;
  return (
    <>
      <div className="page-header">
        <h1>Dashboard</h1>
      </div>
      <p className="muted">
        Signed in as <strong data-testid="dashboard-email">{email}</strong>
      </p>
      <Card title="Your orgs">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Slug</th>
              <th scope="col">Role</th>
            </tr>
          </thead>
          <tbody>
            {orgs.map((org) => (
              <tr key={org.slug}>
                <td>{org.name}</td>
                <td>
                  <code>{org.slug}</code>
                </td>
                <td>{org.role}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}
