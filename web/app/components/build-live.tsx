import type { BuildView } from "@isola/schema";
import { useEffect, useRef, useState } from "react";
import { useRevalidator } from "react-router";
import {
  applyBuildEvent,
  BUILD_EVENT_TYPES,
  type BuildEventInput,
  type BuildProgress,
  foldBuildEvents,
} from "../lib/build-events.ts";
import { InstallPanel } from "./install-panel.tsx";

/** Events after which the page asks its loader again: the plan to show, or the build's end. */
const RELOAD_ON = new Set(["waiting", "succeeded", "failed", "cancelled"]);

/**
 * The events the loader rendered, then the rest live from the events stream (SSE, same origin,
 * the session cookie), resumed after the last seq the page has; the browser's own reconnects send
 * Last-Event-ID. Events the page already has change nothing (build-events.ts ignores them).
 */
export function useBuildProgress(buildId: string, history: BuildEventInput[], live: boolean): BuildProgress {
  const [progress, setProgress] = useState(() => foldBuildEvents(history));
  const lastSeq = useRef(progress.lastSeq);
  lastSeq.current = progress.lastSeq;
  // In a ref: the stream must not reconnect when the revalidator changes.
  const revalidator = useRevalidator();
  const revalidate = useRef(revalidator.revalidate);
  revalidate.current = revalidator.revalidate;

  useEffect(() => setProgress((current) => foldBuildEvents(history, current)), [history]);

  useEffect(() => {
    if (!live) return;
    const source = new EventSource(`/api/v1/builds/${buildId}/events?after=${lastSeq.current}`);
    const onEvent = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as BuildEventInput;
      setProgress((current) => applyBuildEvent(current, event));
      if (RELOAD_ON.has(event.type)) {
        if (event.type !== "waiting") source.close();
        void revalidate.current();
      }
    };
    for (const type of BUILD_EVENT_TYPES) source.addEventListener(type, onEvent as EventListener);
    return () => source.close();
  }, [buildId, live]);

  return progress;
}

const STEP_MARK = { pending: "○", running: "◐", done: "●", failed: "✕" } as const;

/** Step 3: the build as it happens, and how it ended. */
export function BuildLive({ build, progress }: { build: BuildView; progress: BuildProgress }) {
  const url = build.url ?? progress.url;
  const running = !["succeeded", "failed", "cancelled"].includes(build.status);
  return (
    <div className="build">
      <ol className="build-steps" aria-label="Build steps">
        {progress.steps.map((step) => (
          <li key={step.name} className={`build-step build-step-${step.status}`} data-status={step.status}>
            <span aria-hidden="true">{STEP_MARK[step.status]}</span> {step.label}
            <span className="visually-hidden"> ({step.status})</span>
          </li>
        ))}
      </ol>
      <p className="build-stats muted" data-testid="build-stats">
        {progress.round > 0 && `Round ${progress.round} of ${build.maxRounds} · `}
        {progress.tokens.input} in / {progress.tokens.output} out tokens · model {(progress.modelMs / 1000).toFixed(1)}{" "}
        s
      </p>

      {build.status === "succeeded" && url && build.server && (
        <section className="card build-done" aria-labelledby="build-done-title">
          <h2 className="card-title" id="build-done-title">
            {build.server} is live
          </h2>
          <InstallPanel slug={build.server} url={url} authMode={build.authMode} />
        </section>
      )}
      {build.status === "failed" && (
        <div className="problem" role="alert">
          <p className="problem-title">The build failed</p>
          <p>{build.error?.message ?? progress.failure}</p>
          {progress.errors.length > 0 && (
            <ul className="build-errors">
              {progress.errors.map((error) => (
                <li key={error}>
                  <code>{error}</code>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {build.status === "cancelled" && <p className="muted">This build was cancelled.</p>}

      {running && progress.modelText && (
        <div className="build-model">
          <div className="code-label">The model is writing</div>
          <pre aria-hidden="true">{progress.modelText}</pre>
        </div>
      )}
      <ol className="build-log" role="log" aria-live="polite" aria-label="Build events">
        {progress.lines.map((line) => (
          <li key={line.seq} className={`build-line build-line-${line.tone}`}>
            {line.text}
            {line.details && (
              <ul>
                {line.details.map((detail) => (
                  <li key={detail}>
                    <code>{detail}</code>
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}
