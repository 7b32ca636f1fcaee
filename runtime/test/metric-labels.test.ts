import { describe, expect, it } from "vitest";
import { bearerMatches } from "../src/http/metrics-route.ts";
import { methodLabel, restartReason, statusClass } from "../src/observe/metric-labels.ts";

const TOKEN = "m".repeat(40);

describe("metric labels stay within a fixed set", () => {
  it.each([
    [200, "2xx"],
    [101, "1xx"],
    [204, "2xx"],
    [302, "3xx"],
    [401, "4xx"],
    [429, "4xx"],
    [503, "5xx"],
    [599, "5xx"],
    [99, "other"],
    [600, "other"],
    [0, "other"],
    [200.5, "other"],
    [Number.NaN, "other"],
  ])("status %s is %s", (status, label) => {
    expect(statusClass(status)).toBe(label);
  });

  it.each([
    ["GET", "GET"],
    ["post", "POST"],
    ["DELETE", "DELETE"],
    ["OPTIONS", "OPTIONS"],
    ["PROPFIND", "other"],
    ["", "other"],
    ["GET /x", "other"],
  ])("method %j is %s", (method, label) => {
    expect(methodLabel(method)).toBe(label);
  });

  it.each([
    ["exited", null, "crashed"],
    ["exited", 1, "crashed"],
    ["exited", 0, "stopped"],
    ["no heartbeat for 10000 ms", null, "hung"],
    ["resident memory 2100 MB over the ceiling", null, "memory"],
    ["recycled", null, "recycled"],
    ["closing", null, "stopped"],
    ["anything else the supervisor may say one day", 0, "crashed"],
  ])("a shard that ended with %j (code %s) counts as %s", (reason, code, label) => {
    expect(restartReason({ reason, code })).toBe(label);
  });
});

describe("the metrics token", () => {
  it.each([
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`Bearer  ${TOKEN}`, true],
    [undefined, false],
    ["", false],
    ["Bearer", false],
    ["Bearer ", false],
    [TOKEN, false],
    [`Basic ${TOKEN}`, false],
    [`Bearer ${TOKEN.slice(1)}`, false],
    [`Bearer ${TOKEN}x`, false],
    [`Bearer ${TOKEN} extra`, false],
    [`Bearer ${TOKEN.toUpperCase()}`, false],
  ])("%j is %s", (header, accepted) => {
    expect(bearerMatches(header, TOKEN)).toBe(accepted);
  });
});
