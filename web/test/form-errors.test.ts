import { loginBody, signupBody } from "@isola/schema";
import { describe, expect, it } from "vitest";
import { parseForm, problemFormErrors } from "../app/lib/forms.server.ts";

const form = (fields: Record<string, string>) => {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.set(name, value);
  return data;
};

describe("forms are read against the API's own request schemas", () => {
  it("accepts a valid sign-up, leaving out fields the schema does not know", () => {
    const result = parseForm(form({ email: "ada@example.com", password: "correct horse", next: "/x" }), signupBody);
    expect(result).toEqual({ ok: true, data: { email: "ada@example.com", password: "correct horse" } });
  });

  it("reads an empty optional field as absent", () => {
    const result = parseForm(form({ email: "ada@example.com", password: "correct horse", name: "" }), signupBody);
    expect(result.ok).toBe(true);
  });

  it("gives one message per field, and echoes what was typed except the password", () => {
    const result = parseForm(form({ email: "not-an-email", password: "short" }), signupBody);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Object.keys(result.fieldErrors).sort()).toEqual(["email", "password"]);
    expect(result.fieldErrors.password).toBe("at least 10 characters");
    expect(result.values).toEqual({ email: "not-an-email", name: "" });
  });

  it("treats a missing required field as empty, with the schema's message", () => {
    const result = parseForm(form({}), loginBody);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(Object.keys(result.fieldErrors).sort()).toEqual(["email", "password"]);
  });
});

describe("control's problems become form errors", () => {
  const base = { type: "urn:isola:problem:invalid-request", title: "The request is not valid", status: 400 };

  it("puts validation errors next to the fields they name", () => {
    const errors = problemFormErrors(
      {
        ...base,
        detail: "the body is not valid",
        errors: [
          { in: "body", path: "email", message: "Invalid email address" },
          { in: "body", path: "email", message: "second message, not shown" },
          { in: "body", path: "unknownField", message: "not on this form" },
        ],
      },
      { email: "x", password: "secret value" },
    );
    expect(errors.fieldErrors).toEqual({ email: "Invalid email address" });
    expect(errors.formError).toBeUndefined();
    expect(errors.values).toEqual({ email: "x" });
  });

  it("shows any other problem above the form, in words", () => {
    const errors = problemFormErrors(
      {
        type: "urn:isola:problem:invalid-credentials",
        title: "Email or password is wrong",
        status: 401,
        detail: "email or password is wrong",
      },
      { email: "ada@example.com" },
    );
    expect(errors.fieldErrors).toEqual({});
    expect(errors.formError).toEqual({ title: "Email or password is wrong", detail: "email or password is wrong" });
  });
});
