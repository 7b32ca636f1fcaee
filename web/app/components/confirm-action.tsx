import type { ReactNode } from "react";
import { Form } from "react-router";

interface ConfirmActionProps {
  /** The button that opens the question ("Revoke"). */
  label: string;
  /** What will happen, in words ("Revoke the token ci? Scripts using it stop working at once."). */
  question: ReactNode;
  /** The button that does it ("Yes, revoke"). */
  confirm: string;
  /** The form's hidden fields (intent, ids). */
  fields: Record<string, string>;
}

/**
 * A destructive action asked twice: a <details> (it opens without JavaScript, by keyboard) whose
 * panel says what will happen and holds the form. Nothing moves: the panel floats over the row.
 */
export function ConfirmAction({ label, question, confirm, fields }: ConfirmActionProps) {
  return (
    <details className="confirm">
      <summary className="btn btn-sm btn-danger">{label}</summary>
      <div className="confirm-panel">
        <p>{question}</p>
        <Form method="post">
          {Object.entries(fields).map(([name, value]) => (
            <input key={name} type="hidden" name={name} value={value} />
          ))}
          <button type="submit" className="btn btn-sm btn-danger">
            {confirm}
          </button>
        </Form>
      </div>
    </details>
  );
}
