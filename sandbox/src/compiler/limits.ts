/** Limits on what the compiler accepts and produces. */
export const COMPILE_LIMITS = {
  maxFiles: 50,
  maxFileBytes: 256 * 1024,
  maxSourceBytes: 1024 * 1024,
  /** The tenant's bundle (the guest runtime and zod are not part of it). */
  maxBundleBytes: 512 * 1024,
};
