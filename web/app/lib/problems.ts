import type { ProblemDetails } from "@isola/schema";
import { data } from "react-router";

/** A control problem as a route error: the error boundary shows it in words. */
export function problemResponse(problem: ProblemDetails) {
  return data(problem, { status: problem.status });
}

/** Whether a value has the shape of RFC 9457 problem details (a thrown route error's data). */
export function isProblem(value: unknown): value is ProblemDetails {
  const candidate = value as Partial<ProblemDetails> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.title === "string" &&
    typeof candidate.detail === "string"
  );
}

/** Title and detail, without saying the same thing twice ("Email or password is wrong" / "email or password is wrong"). */
export function problemText(problem: Pick<ProblemDetails, "title" | "detail">): { title: string; detail?: string } {
  const same = problem.title.trim().toLowerCase() === problem.detail.trim().toLowerCase();
  return same ? { title: problem.title } : { title: problem.title, detail: problem.detail };
}
