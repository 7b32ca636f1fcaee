import { describe, expect, it } from "vitest";
import { credentialState } from "../app/lib/credentials.ts";
import { problemFormErrors } from "../app/lib/forms.server.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");

describe("a token's or key's state", () => {
  it.each([
    ["never expires", { expiresAt: null, revokedAt: null }, "Active"],
    ["expires later", { expiresAt: "2026-03-02T00:00:00Z", revokedAt: null }, "Active"],
    ["expires this instant", { expiresAt: "2026-03-01T12:00:00Z", revokedAt: null }, "Expired"],
    ["expired", { expiresAt: "2026-02-01T00:00:00Z", revokedAt: null }, "Expired"],
    ["revoked, then expired", { expiresAt: "2026-02-01T00:00:00Z", revokedAt: "2026-01-01T00:00:00Z" }, "Revoked"],
    ["revoked, no expiry", { expiresAt: null, revokedAt: "2026-01-01T00:00:00Z" }, "Revoked"],
  ] as const)("%s", (_case, credential, state) => {
    expect(credentialState(credential, NOW)).toBe(state);
  });
});

describe("a control problem as form errors", () => {
  const problem = (errors?: unknown) => ({ type: "about:blank", title: "Invalid", status: 400, detail: "bad", errors });

  it.each([
    ["a field by its name", [{ path: "name", message: "taken" }], { name: "taken" }],
    [
      "a list entry under its list",
      [{ path: "allowedOrigins.2", message: "an origin" }],
      { allowedOrigins: "an origin" },
    ],
    ["a dotted field name as it is", [{ path: "secrets.KEY", message: "required" }], { "secrets.KEY": "required" }],
    [
      "the first message per field",
      [
        { path: "name", message: "a" },
        { path: "name", message: "b" },
      ],
      { name: "a" },
    ],
  ])("puts %s next to it", (_case, errors, fieldErrors) => {
    const values = { name: "", allowedOrigins: "", "secrets.KEY": "" };
    const result = problemFormErrors(problem(errors), values);
    expect(result.fieldErrors).toEqual(fieldErrors);
    expect(result.formError).toBeUndefined();
  });

  it.each([
    ["no errors", undefined],
    ["errors naming no field of the form", [{ path: "other", message: "x" }]],
    ["errors of the wrong shape", [{ path: 3, message: "x" }, "text"]],
  ])("says the problem above the form with %s", (_case, errors) => {
    const result = problemFormErrors(problem(errors), { name: "" });
    expect(result.fieldErrors).toEqual({});
    expect(result.formError).toEqual({ title: "Invalid", detail: "bad" });
  });
});
