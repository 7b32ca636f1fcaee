import type { ComponentProps } from "react";
import { Link, useNavigation } from "react-router";

export type ButtonVariant = "primary" | "secondary" | "ghost" | "danger";

interface Look {
  variant?: ButtonVariant;
  size?: "sm" | "md";
  block?: boolean;
}

function classes({ variant = "secondary", size = "md", block = false }: Look, extra?: string): string {
  return ["btn", `btn-${variant}`, size === "sm" && "btn-sm", block && "btn-block", extra].filter(Boolean).join(" ");
}

export function Button({
  variant,
  size,
  block,
  className,
  type = "button",
  ...props
}: Look & ComponentProps<"button">) {
  return <button type={type} className={classes({ variant, size, block }, className)} {...props} />;
}

/** A link that looks like a button (navigation, not an action). */
export function ButtonLink({ variant, size, block, className, ...props }: Look & ComponentProps<typeof Link>) {
  return <Link className={classes({ variant, size, block }, className)} {...props} />;
}

/** A form's submit button: says what is happening while the form is on its way (with JavaScript). */
export function SubmitButton({
  pendingLabel,
  children,
  ...props
}: Look & ComponentProps<"button"> & { pendingLabel: string }) {
  const navigation = useNavigation();
  const pending = navigation.state === "submitting";
  return (
    <Button type="submit" variant="primary" aria-disabled={pending || undefined} {...props}>
      {pending ? pendingLabel : children}
    </Button>
  );
}
