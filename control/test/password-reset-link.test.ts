import { describe, expect, it } from "vitest";
import { RESET_LINK_MINUTES, resetLinkRefusal } from "../src/accounts/password-reset.ts";

const NOW = new Date("2026-03-10T12:00:00.000Z");
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

describe("resetLinkRefusal", () => {
  it.each([
    ["a pending link", { expires_at: at(60_000), used_at: null }, undefined],
    ["a link with a millisecond left", { expires_at: at(1), used_at: null }, undefined],
    ["no such link (mistyped or replaced)", undefined, /not valid \(mistyped, or replaced by a newer one\)/],
    ["a used link", { expires_at: at(60_000), used_at: at(-1000) }, /already used/],
    ["a used link that has also expired", { expires_at: at(-1), used_at: at(-1000) }, /already used/],
    ["a link expiring now", { expires_at: NOW, used_at: null }, /has expired \(it works 30 minutes\)/],
    ["an expired link", { expires_at: at(-RESET_LINK_MINUTES * 60_000), used_at: null }, /has expired/],
  ])("%s", (_name, reset, refusal) => {
    const said = resetLinkRefusal(reset, NOW);
    if (refusal === undefined) expect(said).toBeUndefined();
    else expect(said).toMatch(refusal);
  });
});
