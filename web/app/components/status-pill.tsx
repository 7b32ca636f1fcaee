export const SERVER_STATUSES = ["live", "building", "failed", "paused", "draft"] as const;
export type ServerStatus = (typeof SERVER_STATUSES)[number];

const LABELS: Record<ServerStatus, string> = {
  live: "Live",
  building: "Building",
  failed: "Failed",
  paused: "Paused",
  draft: "Draft",
};

/** A server's state: a coloured dot and a word (the word alone carries the meaning). */
export function StatusPill({ status }: { status: ServerStatus }) {
  return <span className={`pill pill-${status}`}>{LABELS[status]}</span>;
}
