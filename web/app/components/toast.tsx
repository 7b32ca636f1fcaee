import { useEffect, useState } from "react";
import type { Flash } from "../lib/flash.ts";

/** The outcome of the last change ("Signed out"): fixed in a corner, so nothing moves; dismissable. */
export function Toast({ flash }: { flash: Flash | null }) {
  const [shown, setShown] = useState(flash);
  useEffect(() => setShown(flash), [flash]);
  if (!shown) return null;
  return (
    <div className={`toast toast-${shown.kind}`} role={shown.kind === "error" ? "alert" : "status"}>
      <span>{shown.message}</span>
      <button type="button" className="btn btn-ghost btn-sm" onClick={() => setShown(null)} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}
