import { describe, expect, it } from "vitest";
import {
  auditApiQuery,
  auditPageHref,
  formatWhen,
  monthLabel,
  shiftMonth,
  usagePercent,
  utcInstant,
} from "../app/lib/org-format.ts";
import {
  assignableRoles,
  mayChangeMember,
  mayManageMembers,
  mayReadAudit,
  mayUpdateOrg,
} from "../app/lib/org-roles.ts";
import { loggedUrl } from "../server/log-urls.ts";

describe("what a role may do in an org (as control's policy has it)", () => {
  it.each([
    ["owner", ["owner", "admin", "member", "viewer"], true, true, true],
    ["admin", ["admin", "member", "viewer"], true, true, false],
    ["member", ["member", "viewer"], false, false, false],
    ["viewer", ["viewer"], false, false, false],
  ] as const)(
    "%s assigns %j, manages members %s, reads audit %s, updates the org %s",
    (role, roles, manage, audit, update) => {
      expect(assignableRoles(role)).toEqual(roles);
      expect(mayManageMembers(role)).toBe(manage);
      expect(mayReadAudit(role)).toBe(audit);
      expect(mayUpdateOrg(role)).toBe(update);
    },
  );

  it.each([
    ["owner", "owner", true],
    ["admin", "owner", false],
    ["admin", "admin", true],
    ["admin", "viewer", true],
    ["member", "viewer", false],
  ] as const)("%s may change a %s: %s", (mine, theirs, expected) => {
    expect(mayChangeMember(mine, theirs)).toBe(expected);
  });
});

describe("months, counts and times", () => {
  it.each([
    ["2026-03", -1, "2026-02"],
    ["2026-01", -1, "2025-12"],
    ["2025-12", 1, "2026-01"],
    ["2026-03", 12, "2027-03"],
    ["2026-13", 1, null],
    ["march", -1, null],
  ])("%s shifted by %i is %s", (month, by, expected) => {
    expect(shiftMonth(month, by)).toBe(expected);
  });

  it("names months in words and leaves other text alone", () => {
    expect(monthLabel("2026-03")).toBe("March 2026");
    expect(monthLabel("nope")).toBe("nope");
  });

  it.each([
    [0, 1000, 0],
    [250, 1000, 25],
    [2000, 1000, 100],
    [0, 0, 0],
    [3, 0, 100],
  ])("%i of %i calls fill %i%%", (used, limit, expected) => {
    expect(usagePercent(used, limit)).toBe(expected);
  });

  it("shows times in UTC, and a dash for none or garbage", () => {
    expect(formatWhen("2026-03-01T14:05:59.000Z")).toBe("2026-03-01 14:05 UTC");
    expect(formatWhen("2026-03-01T14:05:00+02:00")).toBe("2026-03-01 12:05 UTC");
    expect(formatWhen(null)).toBe("—");
    expect(formatWhen("not a date")).toBe("—");
  });
});

describe("the audit page's URL filters become the API's query", () => {
  it("passes the filled filters, reads datetime-local values as UTC, keeps the cursor", () => {
    const { query, values } = auditApiQuery(
      new URLSearchParams("action=server.&actorType=&from=2026-03-01T10:00&to=2026-03-02T00:00:00Z&cursor=abc&junk=1"),
    );
    expect(Object.fromEntries(new URLSearchParams(query))).toEqual({
      action: "server.",
      from: "2026-03-01T10:00:00Z",
      to: "2026-03-02T00:00:00Z",
      cursor: "abc",
      limit: "50",
    });
    expect(values).toEqual({
      action: "server.",
      actorType: "",
      targetType: "",
      targetId: "",
      from: "2026-03-01T10:00",
      to: "2026-03-02T00:00:00Z",
    });
  });

  it("leaves a malformed time as typed, for the API to refuse by name", () => {
    expect(utcInstant("yesterday")).toBe("yesterday");
    expect(new URLSearchParams(auditApiQuery(new URLSearchParams("from=yesterday")).query).get("from")).toBe(
      "yesterday",
    );
  });

  it("links the next page with the same filters and the API's cursor", () => {
    const { values } = auditApiQuery(new URLSearchParams("action=member.&targetType=membership"));
    expect(auditPageHref(values, "c1")).toBe("?action=member.&targetType=membership&cursor=c1");
    expect(auditPageHref(values, null)).toBe("?action=member.&targetType=membership");
  });
});

describe("the request log never keeps a link's token", () => {
  it.each([
    ["/reset-password?token=isola_reset_abc", "/reset-password?[query]"],
    ["/invitations/isola_inv_abc", "/invitations/[token]"],
    ["/invitations/accept?token=isola_inv_abc", "/invitations/[token]?[query]"],
    ["/orgs/acme/audit?action=server.", "/orgs/acme/audit?[query]"],
    ["/dashboard", "/dashboard"],
  ])("%s is logged as %s", (url, expected) => {
    expect(loggedUrl(url)).toBe(expected);
  });
});
