import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keyId } from "../src/secrets/cipher.ts";
import { keyFilePath, loadSecretKey } from "../src/secrets/key.ts";

let dataDir: string;
let warnings: string[];
const warn = (message: string) => void warnings.push(message);
const embedded = () => ({ secretKey: undefined, databaseUrl: undefined, dataDir });

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "isola-key-"));
  warnings = [];
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe("the secret key", () => {
  it("comes from ISOLA_SECRET_KEY when set, silently and without touching the data directory", () => {
    const bytes = randomBytes(32);
    const key = loadSecretKey({ ...embedded(), secretKey: bytes }, { warn });
    expect(key).toEqual({ bytes, id: keyId(bytes) });
    expect(warnings).toEqual([]);
    expect(existsSync(keyFilePath(dataDir))).toBe(false);
  });

  it("is required on a fleet (DATABASE_URL set): nodes with their own keys would corrupt each other's secrets", () => {
    expect(() => loadSecretKey({ ...embedded(), databaseUrl: "postgres://db/isola" }, { warn })).toThrow(
      "set ISOLA_SECRET_KEY: every node must use the same key",
    );
    expect(existsSync(keyFilePath(dataDir))).toBe(false);
  });

  it("is generated once into the data directory (0600, 32 bytes) for the embedded default, with a warning", () => {
    const first = loadSecretKey(embedded(), { warn });
    const path = keyFilePath(dataDir);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path)).toEqual(first.bytes);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("generated key stored next to the database");
    expect(warnings[0]).toContain(path);
    expect(warnings[0]).toContain("ISOLA_SECRET_KEY");
    expect(warnings[0]).not.toContain(first.bytes.toString("base64"));

    const again = loadSecretKey(embedded(), { warn });
    expect(again.id).toBe(first.id);
  });

  it.each([
    ["readable by others", 0o644, 32, /readable by group or others \(mode 0644\); run: chmod 600/],
    ["readable by the group", 0o640, 32, /readable by group or others \(mode 0640\)/],
    ["too short", 0o600, 31, /holds 31 bytes, not 32/],
    ["empty", 0o600, 0, /holds 0 bytes, not 32/],
  ])("refuses a key file that is %s, and leaves it alone", (_case, mode, size, message) => {
    const path = keyFilePath(dataDir);
    const content = randomBytes(size);
    writeFileSync(path, content);
    chmodSync(path, mode);
    expect(() => loadSecretKey(embedded(), { warn })).toThrow(message);
    expect(readFileSync(path)).toEqual(content);
  });

  it("is not generated when the caller only wants an existing one (rotation)", () => {
    expect(() => loadSecretKey(embedded(), { warn, generate: false })).toThrow(/there is no secret key at/);
    expect(existsSync(keyFilePath(dataDir))).toBe(false);
  });
});
