import type { ServerLogEntry, ServerLogLine } from "@isola/schema";
import { useEffect, useRef, useState } from "react";
import { webContext } from "../lib/context.ts";
import { problemResponse } from "../lib/problems.ts";
import serverPageStyles from "../styles/server-pages.css?url";
import type { Route } from "./+types/server-logs";

export const links: Route.LinksFunction = () => [{ rel: "stylesheet", href: serverPageStyles }];

/** Lines kept on the page: the log itself keeps 1000. */
const SHOWN = 500;

/** The last lines as JSON: the page without JavaScript, and where the live tail starts. */
export async function loader({ params, context }: Route.LoaderArgs) {
  const answer = await context
    .get(webContext)
    .control.get<{ items: ServerLogEntry[]; lastId: string | null }>(
      `/servers/${encodeURIComponent(params.slug)}/logs?limit=100&follow=false`,
    );
  if (!answer.ok) throw problemResponse(answer.problem);
  return { slug: params.slug, items: answer.data.items, lastId: answer.data.lastId };
}

/**
 * New lines as they come: the logs API's Server-Sent Events from the last line the page has (the
 * browser resumes with Last-Event-ID after a drop). Paused: the stream closes, and reopens after
 * the last line seen, so that nothing is missed.
 */
function useLiveTail(slug: string, initial: ServerLogEntry[], lastId: string | null, following: boolean) {
  const [lines, setLines] = useState(initial);
  const last = useRef(lastId);
  const [state, setState] = useState<"connecting" | "live" | "paused" | "retrying">("paused");
  useEffect(() => {
    if (!following) {
      setState("paused");
      return;
    }
    const query = new URLSearchParams({ limit: "100" });
    if (last.current) query.set("after", last.current);
    const source = new EventSource(`/api/v1/servers/${encodeURIComponent(slug)}/logs?${query}`);
    setState("connecting");
    source.onopen = () => setState("live");
    source.onerror = () => setState("retrying");
    source.addEventListener("log", (event) => {
      const line = JSON.parse((event as MessageEvent<string>).data) as ServerLogLine;
      const id = (event as MessageEvent).lastEventId;
      last.current = id;
      setLines((previous) =>
        previous.some((known) => known.id === id) ? previous : [...previous, { ...line, id }].slice(-SHOWN),
      );
    });
    return () => source.close();
  }, [slug, following]);
  return { lines, state };
}

export default function ServerLogs({ loaderData }: Route.ComponentProps) {
  const [following, setFollowing] = useState(false);
  // Following starts once hydrated: without JavaScript the page is the last lines, as loaded.
  useEffect(() => setFollowing(true), []);
  const { lines, state } = useLiveTail(loaderData.slug, loaderData.items, loaderData.lastId, following);
  const bottom = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (following && lines.length > 0) bottom.current?.scrollIntoView?.({ block: "nearest" });
  }, [lines, following]);
  return (
    <div className="server-page">
      <div className="toolbar">
        <button type="button" className="btn btn-sm" onClick={() => setFollowing(!following)} aria-pressed={following}>
          {following ? "Pause" : "Follow"}
        </button>
        <span className="muted" aria-live="polite">
          {state === "live"
            ? "Following new lines"
            : state === "paused"
              ? "Paused"
              : state === "retrying"
                ? "Reconnecting…"
                : "Connecting…"}
        </span>
        <a className="btn btn-sm btn-ghost" href={`/servers/${loaderData.slug}/logs`}>
          Reload
        </a>
      </div>
      {lines.length === 0 ? (
        <p className="muted">No log lines yet. Calls, deploys and the tools' own logs show here.</p>
      ) : (
        <div className="log-scroll">
          <table className="log-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Level</th>
                <th scope="col">Source</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {lines.map((line) => (
                <tr key={line.id} className={`log-level-${line.level}`}>
                  <td>
                    <time dateTime={line.at}>{line.at.slice(11, 23)}</time>
                  </td>
                  <td>{line.level}</td>
                  <td>{line.source}</td>
                  <td className="log-message">
                    {line.tool && <span className="tag">{line.tool}</span>} {line.message}
                    {line.caller && <span className="muted"> · {line.caller}</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div ref={bottom} />
        </div>
      )}
    </div>
  );
}
