import { z } from "zod";

/** Which step of the build found a problem. */
export const COMPILE_STEPS = [
  "declarative",
  "files",
  "bundle",
  "types",
  "code",
  "size",
  "load",
  "manifest",
  "injection",
  "smoke",
] as const;

/**
 * One problem with tool code, precise enough for a person (or a model) to fix it.
 * line and column are 1-based and point into `file`; both are 0 when the problem is not
 * about one place (the bundle's size, a manifest property).
 */
export const compileDiagnostic = z.object({
  step: z.enum(COMPILE_STEPS),
  file: z.string(),
  line: z.number().int().min(0),
  column: z.number().int().min(0),
  message: z.string(),
});

export type CompileStep = (typeof COMPILE_STEPS)[number];
export type CompileDiagnostic = z.infer<typeof compileDiagnostic>;

/** The source of a server: file paths (relative, ending in .ts) to their contents. */
export const serverSource = z.record(z.string(), z.string());
export type ServerSource = z.infer<typeof serverSource>;
