import type { ComponentProps } from "react";

interface FieldProps extends Omit<ComponentProps<"input">, "id" | "name"> {
  name: string;
  label: string;
  /** Shown under the field, and announced with it. */
  hint?: string | undefined;
  /** Shown next to the field; marks it invalid for assistive technology. */
  error?: string | undefined;
}

/** A labelled input with its hint and error tied to it (aria-describedby), so that both are read out. */
export function TextField({ name, label, hint, error, type = "text", ...input }: FieldProps) {
  const id = `field-${name}`;
  const described = [hint && `${id}-hint`, error && `${id}-error`].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label className="field-label" htmlFor={id}>
        {label}
      </label>
      <input
        id={id}
        name={name}
        type={type}
        className="field-input"
        aria-invalid={error ? true : undefined}
        aria-describedby={described || undefined}
        {...input}
      />
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
    </div>
  );
}
