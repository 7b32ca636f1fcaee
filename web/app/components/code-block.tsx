import { useEffect, useState } from "react";

interface CodeBlockProps {
  code: string;
  /** What the code is ("Terminal", "Cursor: .cursor/mcp.json"); also names the copy button. */
  label?: string;
}

/**
 * Code to read and copy. The copy button needs JavaScript (the clipboard API): it appears once
 * the page is hydrated, in a corner, so that nothing moves; without JavaScript the text selects.
 */
export function CodeBlock({ code, label }: CodeBlockProps) {
  const [hydrated, setHydrated] = useState(false);
  const [copied, setCopied] = useState<"copied" | "failed" | null>(null);
  useEffect(() => setHydrated(true), []);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(null), 2000);
    return () => clearTimeout(timer);
  }, [copied]);

  async function copy() {
    try {
      await navigator.clipboard.writeText(code);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  }

  return (
    <div className="code">
      {label && <div className="code-label">{label}</div>}
      <pre>
        <code>{code}</code>
      </pre>
      {hydrated && (
        <button
          type="button"
          className="btn btn-sm code-copy"
          onClick={copy}
          aria-label={label ? `Copy ${label}` : "Copy code"}
        >
          {copied === "copied" ? "Copied" : copied === "failed" ? "Copy failed" : "Copy"}
        </button>
      )}
      <span className="visually-hidden" aria-live="polite">
        {copied === "copied" ? "Copied to the clipboard" : copied === "failed" ? "Could not copy" : ""}
      </span>
    </div>
  );
}
