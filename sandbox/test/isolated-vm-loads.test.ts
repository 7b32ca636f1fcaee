import ivm from "isolated-vm";
import { describe, expect, it } from "vitest";

// The foundation for the sandbox: the prebuilt isolated-vm binary loads on this Node
// and an isolate runs code with its own heap, separate from this process's globals.
describe("isolated-vm on this Node", () => {
  it("runs code in an isolate that cannot see the host's globals", async () => {
    const isolate = new ivm.Isolate({ memoryLimit: 16 });
    try {
      const context = await isolate.createContext();
      expect(await context.eval("[1, 2, 3].map((n) => n * 2).join(',')")).toBe("2,4,6");
      expect(await context.eval("typeof process + ' ' + typeof require")).toBe("undefined undefined");
    } finally {
      isolate.dispose();
    }
  });

  it("stops an infinite loop at its timeout", async () => {
    const isolate = new ivm.Isolate({ memoryLimit: 16 });
    try {
      const context = await isolate.createContext();
      await expect(context.eval("for (;;) {}", { timeout: 50 })).rejects.toThrow(/timed out/i);
    } finally {
      isolate.dispose();
    }
  });
});
