#!/usr/bin/env -S node --no-node-snapshot
// The `isola` command. Node 24 runs the TypeScript entry point directly (type stripping).
import "../src/main.ts";
