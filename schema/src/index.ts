export * from "./api/health.ts";
export * from "./bus.ts";
export * from "./compile.ts";
export * from "./config.ts";
export * from "./db/migrate.ts";
export * from "./db/tables.ts";
export * from "./manifest.ts";
