import type { OrgRole } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { refuseRemoval, refuseRoleChange } from "../src/orgs/member-rules.ts";

describe("refuseRoleChange", () => {
  // [actor, from, to, owners in the org, expected: null (allowed), "forbidden" or "conflict"]
  it.each([
    ["owner", "member", "owner", 1, null],
    ["owner", "owner", "admin", 2, null],
    ["owner", "owner", "admin", 1, "conflict"],
    ["owner", "owner", "owner", 1, null],
    ["admin", "viewer", "admin", 1, null],
    ["admin", "admin", "member", 1, null],
    ["admin", "member", "owner", 1, "forbidden"],
    ["admin", "owner", "admin", 2, "forbidden"],
    ["admin", "owner", "owner", 2, "forbidden"],
    ["member", "viewer", "member", 1, "forbidden"],
    ["member", "viewer", "viewer", 1, "forbidden"],
    ["viewer", "viewer", "viewer", 1, "forbidden"],
  ] as [OrgRole, OrgRole, OrgRole, number, string | null][])(
    "%s changing %s to %s with %i owner(s): %s",
    (actor, from, to, owners, expected) => {
      expect(refuseRoleChange(actor, from, to, owners)?.code ?? null).toBe(expected);
    },
  );

  it("says why, in words", () => {
    expect(refuseRoleChange("owner", "owner", "member", 1)?.detail).toMatch(/last owner/);
    expect(refuseRoleChange("admin", "member", "owner", 1)?.detail).toMatch(/only owners make owners/);
    expect(refuseRoleChange("admin", "owner", "member", 2)?.detail).toMatch(/only owners change an owner/);
  });
});

describe("refuseRemoval", () => {
  // [actor, target, leaving themselves, owners, expected]
  it.each([
    ["owner", "owner", false, 2, null],
    ["owner", "viewer", false, 1, null],
    ["admin", "admin", false, 1, null],
    ["admin", "owner", false, 2, "forbidden"],
    ["member", "viewer", false, 1, "forbidden"],
    ["viewer", "viewer", true, 1, null],
    ["member", "member", true, 1, null],
    ["owner", "owner", true, 2, null],
    ["owner", "owner", true, 1, "conflict"],
  ] as [OrgRole, OrgRole, boolean, number, string | null][])(
    "%s removing a %s (self: %s) with %i owner(s): %s",
    (actor, target, self, owners, expected) => {
      expect(refuseRemoval(actor, target, self, owners)?.code ?? null).toBe(expected);
    },
  );
});
