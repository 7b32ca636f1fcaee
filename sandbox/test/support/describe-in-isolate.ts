import type { CompileDependencies } from "../../src/compiler/compile.ts";
import { TenantIsolate } from "../../src/host/tenant-isolate.ts";

/** compileServer's `describe`, as production wires it: the bundle loads in a real isolate, in-process. */
export const describeInIsolate: CompileDependencies["describe"] = async (bundle) => {
  const isolate = await TenantIsolate.create(bundle);
  try {
    return await isolate.describe();
  } finally {
    isolate.dispose();
  }
};
