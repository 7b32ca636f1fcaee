// Runs zod's common paths once while the runtime is loaded, so that the snapshot every
// isolate starts from already holds their compiled bytecode: a tenant's first call then
// does not pay for compiling zod. Must run after tameCodeGeneration(), so that zod records
// that it cannot generate code (and never tries later).
import { z } from "zod";

export function warmUp(): void {
  const schema = z.object({
    text: z.string().min(1).max(100).describe("Some text"),
    count: z.number().int().min(0).default(1),
    tags: z.array(z.enum(["a", "b"])).optional(),
    when: z.iso.datetime().optional(),
    nested: z.object({ flag: z.boolean() }).nullable().optional(),
  });
  schema.safeParse({ text: "x", count: 2, tags: ["a"], nested: { flag: true } });
  const failed = schema.safeParse({ text: 5, count: -1 });
  if (!failed.success) z.prettifyError(failed.error);
  z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" });
}
