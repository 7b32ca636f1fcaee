import { describe, expect, it } from "vitest";
import { Problem } from "../src/http/problems.ts";
import { orgUsage, type ServerOutcomeCalls, usageMonth } from "../src/observe/org-usage.ts";

const NOW = new Date("2026-03-10T12:34:56.789Z");

describe("usageMonth", () => {
  it.each([
    ["the current month by default", undefined, "2026-03", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    ["the current month named", "2026-03", "2026-03", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    ["a past month", "2026-02", "2026-02", "2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"],
    ["December runs into January", "2025-12", "2025-12", "2025-12-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
    ["the first month there is", "1970-01", "1970-01", "1970-01-01T00:00:00.000Z", "1970-02-01T00:00:00.000Z"],
  ])("%s", (_name, month, name, from, to) => {
    const period = usageMonth(month, NOW);
    expect({ month: period.month, from: period.from.toISOString(), to: period.to.toISOString() }).toEqual({
      month: name,
      from,
      to,
    });
  });

  it("is the month of the UTC date, as the quota counts it", () => {
    expect(usageMonth(undefined, new Date("2026-03-31T23:59:59.999Z")).month).toBe("2026-03");
    expect(usageMonth(undefined, new Date("2026-04-01T00:00:00.000Z")).month).toBe("2026-04");
  });

  it.each([
    ["2026-04", /month 2026-04 has not begun \(this month is 2026-03\)/],
    ["2027-01", /has not begun/],
    ["1969-12", /before 1970-01/],
    ["0000-01", /before 1970-01/],
    ["2026-13", /not a month such as 2026-01/],
    ["2026-3", /not a month such as 2026-01/],
  ])("refuses %s (400)", (month, detail) => {
    const refusal = (() => {
      try {
        usageMonth(month, NOW);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(Problem);
    expect((refusal as Problem).code).toBe("invalid-request");
    expect((refusal as Problem).message).toMatch(detail);
  });
});

describe("orgUsage", () => {
  const period = usageMonth("2026-02", NOW);
  const row = (serverId: string, outcome: ServerOutcomeCalls["outcome"], calls: number): ServerOutcomeCalls => ({
    serverId,
    slug: `slug-${serverId}`,
    name: `Server ${serverId}`,
    outcome,
    calls,
  });
  const llm = { calls: 1, inputTokens: 2, outputTokens: 3 };

  it("counts every outcome but a limit's as used, limits as refused, and sorts servers by calls", () => {
    const view = orgUsage(
      "acme",
      period,
      1000,
      [
        row("a", "ok", 5),
        row("b", "ok", 7),
        row("a", "tool_error", 2),
        row("a", "limit", 3),
        row("c", "crash", 1),
        row("b", "protocol_error", 1),
        row("d", "ok", 8),
      ],
      llm,
    );
    expect(view).toEqual({
      org: "acme",
      month: "2026-02",
      period: { from: "2026-02-01T00:00:00.000Z", to: "2026-03-01T00:00:00.000Z" },
      calls: { used: 24, limit: 1000, refused: 3 },
      servers: [
        { slug: "slug-a", name: "Server a", calls: 10, errors: 5 },
        // b and d tie on 8: by slug.
        { slug: "slug-b", name: "Server b", calls: 8, errors: 1 },
        { slug: "slug-d", name: "Server d", calls: 8, errors: 0 },
        { slug: "slug-c", name: "Server c", calls: 1, errors: 1 },
      ],
      llm,
    });
  });

  it("is all zeros without usage", () => {
    expect(orgUsage("acme", period, 5, [], { calls: 0, inputTokens: 0, outputTokens: 0 })).toMatchObject({
      calls: { used: 0, limit: 5, refused: 0 },
      servers: [],
    });
  });
});
