// The guest runtime: loaded into every isolate before the tenant's bundle. It installs the
// web APIs a bare V8 lacks, the `isola` module tool code imports, and the entry points the
// host takes (and then removes from the global object).
import { z } from "zod";
import { attach, resolveRequest } from "./bridge.ts";
import { defineServer, prompt, resource, tool } from "./definitions.ts";
import { describe } from "./describe.ts";
import { abort, callTool, getPrompt, readResource } from "./dispatch.ts";
import { tameCodeGeneration } from "./tame.ts";
import { warmUp } from "./warm-up.ts";
import { AbortController, AbortSignal, DOMException } from "./web/abort.ts";
import { atob, btoa } from "./web/base64.ts";
import { structuredClone } from "./web/clone.ts";
import { console } from "./web/console.ts";
import { crypto } from "./web/crypto.ts";
import { TextDecoder, TextEncoder } from "./web/encoding.ts";
import { fetch, Headers, Response } from "./web/fetch.ts";
import { clearTimeout, fireTimer, setTimeout } from "./web/timers.ts";
import { URL, URLSearchParams } from "./web/url.ts";

Object.assign(globalThis, {
  AbortController,
  AbortSignal,
  DOMException,
  Headers,
  Response,
  TextDecoder,
  TextEncoder,
  URL,
  URLSearchParams,
  atob,
  btoa,
  clearTimeout,
  console,
  crypto,
  fetch,
  setTimeout,
  structuredClone,
});

/** What `import { ... } from "isola"` resolves to in a bundle (see the compiler's virtual module). */
Object.defineProperty(globalThis, "__isola", {
  value: Object.freeze({ defineServer, tool, resource, prompt, z }),
});

Object.defineProperty(globalThis, "__isolaGuest", {
  value: { attach, describe, callTool, readResource, getPrompt, resolve: resolveRequest, fireTimer, abort },
  configurable: true,
});

// Last: everything above is loaded, so nothing of ours needs eval or new Function after this.
tameCodeGeneration();
warmUp();
