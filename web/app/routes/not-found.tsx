import { data } from "react-router";

// Any URL no other route (and no other role) answers: the root error boundary's "Page not found".
// A thrown 404 rather than React Router's own no-match, which it logs as an error.
export function loader() {
  throw data("Not found", { status: 404 });
}

export default function NotFound() {
  return null;
}
