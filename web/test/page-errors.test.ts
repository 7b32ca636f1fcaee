// What the server entry's handleError logs: the error a loader, an action or rendering met, with
// the request's own logger (pino's, carrying its reqId); the cause of a 500 React Router made of
// it; nothing for a browser that left.
import { UNSAFE_ErrorResponseImpl as ErrorResponse, RouterContextProvider } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handleError } from "../app/entry.server.tsx";
import { webContext } from "../app/lib/context.ts";
import type { WebRequestContext } from "../server/request-context.ts";

/** A load context whose logger keeps what it is given. */
function contextWithLog() {
  const lines: { details: object; message: string }[] = [];
  const web = { nonce: "n", log: { error: (details: object, message: string) => lines.push({ details, message }) } };
  const context = new RouterContextProvider(new Map([[webContext, web as unknown as WebRequestContext]]));
  return { lines, context };
}

function request({ aborted = false } = {}): Request {
  const controller = new AbortController();
  if (aborted) controller.abort();
  return new Request("https://isola.test/dashboard", { signal: controller.signal });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("handleError", () => {
  it("logs a loader's error with the request's logger, not on stderr", () => {
    const stderr = vi.spyOn(console, "error").mockImplementation(() => {});
    const { lines, context } = contextWithLog();
    const error = new TypeError("Cannot read properties of undefined (reading 'map')");
    handleError(error, { request: request(), context, params: {} });
    expect(lines).toEqual([{ details: { err: error }, message: "the page failed" }]);
    expect(stderr).not.toHaveBeenCalled();
  });

  it("logs nothing for a browser that left", () => {
    const { lines, context } = contextWithLog();
    handleError(new Error("aborted mid-render"), { request: request({ aborted: true }), context, params: {} });
    expect(lines).toEqual([]);
  });

  it("logs the error inside a 500 React Router made of it", () => {
    const { lines, context } = contextWithLog();
    const cause = new Error("the real failure");
    // What React Router hands over for an error it wrapped: an error response carrying `error`.
    handleError(new ErrorResponse(500, "Internal Server Error", cause, true), {
      request: request(),
      context,
      params: {},
    });
    expect(lines).toEqual([{ details: { err: cause }, message: "the page failed" }]);
  });

  it("falls back to stderr when React Router had no load context to give", () => {
    const stderr = vi.spyOn(console, "error").mockImplementation(() => {});
    const error = new Error("invalid context");
    handleError(error, {
      request: request(),
      context: undefined as unknown as RouterContextProvider,
      params: {},
    });
    expect(stderr).toHaveBeenCalledWith(error);
  });
});
