import type { ReactNode } from "react";
import { CodeBlock } from "./code-block.tsx";

interface ShownOnceProps {
  /** What was made, and that it is not shown again, in words. */
  children: ReactNode;
  /** The value (a token, a key, a link) to copy now. */
  value: string;
  /** Names the value's code block and its copy button ("API key ci"). */
  label: string;
  testId: string;
}

/** A secret value the page can show only in the answer that made it: announced, set apart, with a copy button. */
export function ShownOnce({ children, value, label, testId }: ShownOnceProps) {
  return (
    <div className="once" role="status" data-testid={testId}>
      <p>{children}</p>
      <CodeBlock code={value} label={label} />
    </div>
  );
}
