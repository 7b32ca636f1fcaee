import type { ComponentProps, ReactNode } from "react";

// Labelled controls: the hint and the error tied to the control (aria-describedby) so that both
// are read out, the error next to it and marking it invalid.

interface Labelled {
  name: string;
  /** Defaults to `field-<name>`; set it where one page repeats a name (one form per template). */
  id?: string | undefined;
  label: ReactNode;
  /** Shown under the control, and announced with it. */
  hint?: ReactNode;
  /** Shown next to the control; marks it invalid for assistive technology. */
  error?: string | undefined;
}

/** The aria attributes of a control whose hint and error are shown by `FieldNotes` with the same id. */
export function fieldAria(id: string, hint: ReactNode, error: string | undefined) {
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
  return { "aria-invalid": error ? true : undefined, "aria-describedby": described || undefined };
}

export function FieldNotes({ id, hint, error }: { id: string; hint?: ReactNode; error?: string | undefined }) {
  return (
    <>
      {hint && (
        <span className="field-hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </>
  );
}

/** The label above the control, the notes under it. */
function Field({ id, label, hint, error, children }: Omit<Labelled, "name"> & { id: string; children: ReactNode }) {
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      {children}
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

export function TextField({
  name,
  id = `field-${name}`,
  label,
  hint,
  error,
  type = "text",
  ...input
}: Labelled & Omit<ComponentProps<"input">, "id" | "name">) {
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      <input id={id} name={name} type={type} className="field-input" {...fieldAria(id, hint, error)} {...input} />
    </Field>
  );
}

export function TextAreaField({
  name,
  id = `field-${name}`,
  label,
  hint,
  error,
  ...textarea
}: Labelled & Omit<ComponentProps<"textarea">, "id" | "name">) {
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      <textarea
        id={id}
        name={name}
        className="field-input field-textarea"
        {...fieldAria(id, hint, error)}
        {...textarea}
      />
    </Field>
  );
}

export function SelectField({
  name,
  id = `field-${name}`,
  label,
  hint,
  error,
  ...select
}: Labelled & Omit<ComponentProps<"select">, "id" | "name">) {
  return (
    <Field id={id} label={label} hint={hint} error={error}>
      <select id={id} name={name} className="field-input" {...fieldAria(id, hint, error)} {...select} />
    </Field>
  );
}

/** The box before its label. */
export function CheckboxField({
  name,
  id = `field-${name}`,
  label,
  hint,
  error,
  ...input
}: Labelled & Omit<ComponentProps<"input">, "id" | "name" | "type">) {
  return (
    <div className="field field-check">
      <input id={id} name={name} type="checkbox" {...fieldAria(id, hint, error)} {...input} />
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}
