import { describe, expect, it } from "vitest";
import { crossSiteRefusal, type OriginFacts } from "../server/form-origin.ts";

const base: OriginFacts = {
  method: "POST",
  origin: "https://isola.example",
  secFetchSite: undefined,
  host: "isola.example",
  publicOrigin: "https://isola.example",
};

describe("the web's forms refuse requests another site sent", () => {
  it.each<[string, Partial<OriginFacts>]>([
    ["a form of this site", {}],
    ["a GET from anywhere", { method: "GET", origin: "https://evil.example" }],
    ["a HEAD from anywhere", { method: "HEAD", origin: "https://evil.example" }],
    [
      "another name for this host (127.0.0.1 vs localhost)",
      { origin: "http://127.0.0.1:3000", host: "127.0.0.1:3000" },
    ],
    ["the public origin behind a proxy that rewrote Host", { host: "10.0.0.5:3000" }],
    ["no Origin but Sec-Fetch-Site: same-origin", { origin: undefined, secFetchSite: "same-origin" }],
    ["Host in capitals", { origin: "http://localhost:3000", host: "LOCALHOST:3000" }],
  ])("lets through %s", (_name, facts) => {
    expect(crossSiteRefusal({ ...base, ...facts })).toBeNull();
  });

  it.each<[string, Partial<OriginFacts>, RegExp]>([
    ["another site", { origin: "https://evil.example" }, /another site \(https:\/\/evil\.example\)/],
    ["a sibling subdomain", { origin: "https://weather.isola.example" }, /another site/],
    ["this host on another port", { origin: "https://isola.example:8443" }, /another site/],
    ["an opaque origin (sandboxed frame)", { origin: "null" }, /another site \(null\)/],
    ["no Origin and no Sec-Fetch-Site", { origin: undefined }, /did not say which site/],
    ["no Origin, Sec-Fetch-Site: cross-site", { origin: undefined, secFetchSite: "cross-site" }, /did not say/],
    ["no Origin, Sec-Fetch-Site: same-site", { origin: undefined, secFetchSite: "same-site" }, /did not say/],
    ["a DELETE from another site", { method: "DELETE", origin: "https://evil.example" }, /another site/],
    ["a lowercase post from another site", { method: "post", origin: "https://evil.example" }, /another site/],
    ["an Origin that is not a URL", { origin: "isola.example", host: "isola.example" }, /another site/],
  ])("refuses %s", (_name, facts, reason) => {
    expect(crossSiteRefusal({ ...base, ...facts })).toMatch(reason);
  });
});
