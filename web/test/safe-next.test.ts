import { describe, expect, it } from "vitest";
import { safeNext } from "../app/lib/safe-next.ts";

describe("after signing in, the browser goes only to a path of this site", () => {
  it.each([
    ["/dashboard", "/dashboard"],
    ["/servers/weather?tab=logs#tail", "/servers/weather?tab=logs#tail"],
    ["/orgs/acme/members", "/orgs/acme/members"],
    ["/a/../dashboard", "/dashboard"],
    // Encoded, it stays a path: a header cannot be split through a Location that React Router encodes.
    ["/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"],
  ])("keeps %s", (next, expected) => {
    expect(safeNext(next)).toBe(expected);
  });

  it.each([
    [null],
    [""],
    ["dashboard"],
    ["https://evil.example/"],
    ["//evil.example/"],
    ["/\\evil.example"],
    ["\\\\evil.example"],
    ["/\tevil"],
    ["javascript:alert(1)"],
    ["/\r\nSet-Cookie:x"],
  ])("sends %j to the dashboard instead", (next) => {
    expect(safeNext(next)).toBe("/dashboard");
  });
});
