import { type CompileDiagnostic, declarativeProblems, declarativeServer, type ServerSource } from "@isola/schema";
import { checkSourceFiles, entryFile } from "../compiler/source-files.ts";
import { DECLARATIVE_FILE, declarativeEntry, generateDeclarativeModule } from "./generate.ts";

export type PreparedSources =
  | { ok: true; files: ServerSource; entry: string; declarativeFile?: string }
  | { ok: false; errors: CompileDiagnostic[] };

const problem = (step: "declarative" | "files", file: string, message: string): CompileDiagnostic => ({
  step,
  file,
  line: 0,
  column: 0,
  message,
});

/**
 * The files the compiler builds: the server's own, checked; plus, with a declarative part, the
 * generated module (and an entry when there is no code at all). The declarative part is
 * validated here whatever its caller did, since it may come straight from a request.
 */
export function prepareSources(files: ServerSource, declarative?: unknown): PreparedSources {
  if (declarative === undefined) {
    const errors = checkSourceFiles(files);
    return errors.length ? { ok: false, errors } : { ok: true, files, entry: entryFile(files) as string };
  }
  const parsed = declarativeServer.safeParse(declarative);
  if (!parsed.success) {
    return {
      ok: false,
      errors: declarativeProblems(parsed.error, declarative).map((message) => problem("declarative", "", message)),
    };
  }
  const server = parsed.data;
  const hasCode = Object.keys(files).length > 0;
  if (hasCode) {
    const errors = checkSourceFiles(files);
    if (Object.hasOwn(files, DECLARATIVE_FILE)) {
      errors.push(problem("files", DECLARATIVE_FILE, "this file name is reserved for the generated declarative tools"));
    }
    if (errors.length) return { ok: false, errors };
  }
  return {
    ok: true,
    files: {
      ...(hasCode ? files : { "index.ts": declarativeEntry(server) }),
      [DECLARATIVE_FILE]: generateDeclarativeModule(server),
    },
    // The code's entry: with the generated module, the files no longer say which one it is.
    entry: hasCode ? (entryFile(files) as string) : "index.ts",
    declarativeFile: DECLARATIVE_FILE,
  };
}
