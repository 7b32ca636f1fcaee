import type { ReactNode } from "react";
import { Form } from "react-router";

interface ConfirmFormProps {
  /** The button that asks first ("Delete", "Revoke"). */
  label: string;
  /** The question, in words ("Revoke the key ci? Clients using it stop at once."). */
  question: ReactNode;
  /** The button that does it ("Yes, revoke ci"). */
  confirmLabel: string;
  intent: string;
  /** Hidden fields the action needs (a name, an id). */
  fields?: Record<string, string>;
}

/**
 * A destructive action that asks first: a <details> (opens without JavaScript, with the
 * keyboard) holding the form that does it. Closing it is "no".
 */
export function ConfirmForm({ label, question, confirmLabel, intent, fields = {} }: ConfirmFormProps) {
  return (
    <details className="confirm">
      <summary className="btn btn-sm btn-ghost">{label}</summary>
      <Form method="post" className="confirm-panel">
        <p>{question}</p>
        {Object.entries(fields).map(([name, value]) => (
          <input key={name} type="hidden" name={name} value={value} />
        ))}
        <button type="submit" name="intent" value={intent} className="btn btn-sm btn-danger">
          {confirmLabel}
        </button>
      </Form>
    </details>
  );
}
