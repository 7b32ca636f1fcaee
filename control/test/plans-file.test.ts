import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePlans, readPlansFile } from "../src/orgs/plans.ts";

const PLAN = {
  id: "team",
  name: "Team",
  maxServers: 10,
  callsPerMonth: 100_000,
  memoryMb: 128,
  rateLimitPerMinute: 600,
};
const json = (value: unknown) => JSON.stringify(value);

describe("parsePlans", () => {
  it("accepts an array of plans and trims names", () => {
    expect(parsePlans(json([PLAN, { ...PLAN, id: "free", name: "  Free ", maxServers: 0 }]))).toEqual({
      ok: true,
      plans: [PLAN, { ...PLAN, id: "free", name: "Free", maxServers: 0 }],
    });
  });

  it.each([
    ["text that is not JSON", "[{", /^not valid JSON \(/],
    ["an object instead of an array", json({ plans: [PLAN] }), /expected array/],
    ["an empty array", "[]", /list at least one plan/],
    ["a missing field", json([{ ...PLAN, memoryMb: undefined }]), /\[0\]\.memoryMb: /],
    ["a number as a string", json([{ ...PLAN, maxServers: "10" }]), /\[0\]\.maxServers: .*expected number/],
    ["a fractional number", json([{ ...PLAN, callsPerMonth: 1.5 }]), /\[0\].callsPerMonth: .*expected int/],
    ["a negative limit", json([{ ...PLAN, maxServers: -1 }]), /\[0\]\.maxServers: /],
    ["calls beyond the database's integers", json([{ ...PLAN, callsPerMonth: 2 ** 31 }]), /\[0\]\.callsPerMonth: /],
    ["a rate limit of zero", json([{ ...PLAN, rateLimitPerMinute: 0 }]), /\[0\]\.rateLimitPerMinute: /],
    ["an id with capitals", json([{ ...PLAN, id: "Team" }]), /\[0\]\.id: 1-40 lowercase/],
    ["an empty name", json([{ ...PLAN, name: " " }]), /\[0\]\.name: /],
    ["an unknown field (a typo)", json([{ ...PLAN, maxServer: 3 }]), /\[0\]: .*maxServer/],
    ["an id listed twice", json([PLAN, PLAN]), /\[1\]\.id: team is listed twice/],
  ])("refuses %s, saying where", (_case, text, message) => {
    const result = parsePlans(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(message);
    expect(result.error).not.toContain("\n");
  });

  it("lists every problem at once", () => {
    const result = parsePlans(
      json([
        { ...PLAN, maxServers: -1 },
        { ...PLAN, id: "b", memoryMb: 1 },
      ]),
    );
    expect(!result.ok && result.error).toMatch(/\[0\]\.maxServers: .*; \[1\]\.memoryMb: /);
  });
});

describe("readPlansFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "isola-plans-unit-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads nothing when no file is configured", async () => {
    expect(await readPlansFile(undefined)).toEqual([]);
  });

  it("reads a valid file", async () => {
    const path = join(dir, "ok.json");
    writeFileSync(path, json([PLAN]));
    expect(await readPlansFile(path)).toEqual([PLAN]);
  });

  it.each([
    ["a missing file", "missing.json", undefined, /^ISOLA_PLANS_FILE \/.*missing\.json: cannot read it \(ENOENT\)$/],
    ["a directory", ".", undefined, /^ISOLA_PLANS_FILE \/.*: cannot read it \(EISDIR\)$/],
    ["an invalid file", "bad.json", "{}", /^ISOLA_PLANS_FILE \/.*bad\.json: expected a JSON array of plans; /],
  ])("names the variable and the file for %s", async (_case, name, content, message) => {
    const path = join(dir, name);
    if (content !== undefined) writeFileSync(path, content);
    await expect(readPlansFile(path)).rejects.toThrow(message);
  });
});
