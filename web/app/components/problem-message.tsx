import type { ProblemDetails } from "@isola/schema";
import { problemText } from "../lib/problems.ts";

/** A control problem (or any error put in its shape) in words, announced to screen readers. */
export function ProblemMessage({ problem }: { problem: Pick<ProblemDetails, "title" | "detail"> }) {
  const { title, detail } = problemText(problem);
  return (
    <div className="problem" role="alert">
      <p className="problem-title">{title}</p>
      {detail && <p>{detail}</p>}
    </div>
  );
}
