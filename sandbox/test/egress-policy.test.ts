import { describe, expect, it } from "vitest";
import { type AddressCategory, checkAddress, checkUrl, hostAllowed } from "../src/host/egress/policy.ts";

describe("host patterns", () => {
  // [hostname as URL gives it, pattern, matches]
  const rows: [string, string, boolean][] = [
    ["api.example.com", "api.example.com", true],
    ["api.example.com", "API.Example.COM", true],
    ["api.example.com.", "api.example.com", true],
    ["api.example.com", "api.example.com.", true],
    ["api.example.com", "example.com", false],
    ["example.com.evil.com", "example.com", false],
    ["a.example.com", "*.example.com", true],
    ["a.b.example.com", "*.example.com", true],
    ["a.example.com.", "*.EXAMPLE.com.", true],
    ["example.com", "*.example.com", false],
    ["badexample.com", "*.example.com", false],
    ["example.com.evil.com", "*.example.com", false],
    ["xn--bcher-kva.example", "bücher.example", true],
    ["a.xn--bcher-kva.example", "*.bücher.example", true],
    ["xn--bcher-kva.example", "bucher.example", false],
    ["10.0.0.1", "10.0.0.1", true],
    ["10.0.0.1", "*.0.0.1", false],
    ["10.0.0.1", "10.0.0.2", false],
    ["[::1]", "::1", true],
    ["[::1]", "[0:0:0:0:0:0:0:1]", true],
    ["[::ffff:7f00:1]", "::ffff:127.0.0.1", true],
    ["anything.com", "*", false],
    ["a.example.com", "a.*.com", false],
    ["a.example.com", "*.*.com", false],
    ["a.example.com", "", false],
  ];
  it.each(rows)("%s against %j: %s", (hostname, pattern, expected) => {
    expect(hostAllowed(hostname, [pattern])).toBe(expected);
  });

  it("matches when any one pattern matches", () => {
    expect(hostAllowed("b.example.org", ["api.example.com", "*.example.org"])).toBe(true);
    expect(hostAllowed("b.example.net", ["api.example.com", "*.example.org"])).toBe(false);
    expect(hostAllowed("api.example.com", [])).toBe(false);
  });
});

describe("URLs", () => {
  const policy = {
    allowedHosts: ["api.example.com", "plain.example.com", "bücher.example", "10.0.0.1"],
    allowHttpHosts: ["plain.example.com"],
  };
  // [url, error code or the hostname to resolve]
  const rows: [string, string][] = [
    ["https://api.example.com/v1?q=1", "api.example.com"],
    ["https://API.EXAMPLE.COM./v1", "api.example.com"],
    ["https://api.example.com:8443/v1", "api.example.com"],
    ["https://bücher.example/", "xn--bcher-kva.example"],
    ["https://10.0.0.1/", "10.0.0.1"],
    ["http://plain.example.com/", "plain.example.com"],
    ["http://api.example.com/", "EGRESS_SCHEME_REFUSED"],
    ["file:///etc/passwd", "EGRESS_SCHEME_REFUSED"],
    ["data:text/plain,hello", "EGRESS_SCHEME_REFUSED"],
    ["ftp://api.example.com/", "EGRESS_SCHEME_REFUSED"],
    ["javascript:alert(1)", "EGRESS_SCHEME_REFUSED"],
    ["ws://api.example.com/", "EGRESS_SCHEME_REFUSED"],
    ["https://user:hunter2@api.example.com/", "EGRESS_BAD_URL"],
    ["https://user@api.example.com/", "EGRESS_BAD_URL"],
    ["not a url", "EGRESS_BAD_URL"],
    ["/relative/path", "EGRESS_BAD_URL"],
    ["https://[fe80::1%25eth0]/", "EGRESS_BAD_URL"],
    ["https://evil.com/", "EGRESS_HOST_NOT_ALLOWED"],
    ["https://api.example.com.evil.com/", "EGRESS_HOST_NOT_ALLOWED"],
    ["https://10.0.0.2/", "EGRESS_HOST_NOT_ALLOWED"],
    ["https://127.0.0.1/", "EGRESS_HOST_NOT_ALLOWED"],
    ["https://0x7f.1/", "EGRESS_HOST_NOT_ALLOWED"],
    ["https://[::1]/", "EGRESS_HOST_NOT_ALLOWED"],
    ["http://evil.com/", "EGRESS_HOST_NOT_ALLOWED"],
  ];
  it.each(rows)("%s: %s", (url, expected) => {
    if (expected.startsWith("EGRESS_")) {
      expect(() => checkUrl(url, policy)).toThrow(expect.objectContaining({ code: expected }));
    } else {
      expect(checkUrl(url, policy).hostname).toBe(expected);
    }
  });

  it("says which host is not approved, and never echoes the path, the query or credentials", () => {
    expect(() => checkUrl("https://evil.com/steal?token=s3cret", policy)).toThrow(
      /"evil\.com" is not in the server's approved egress hosts/,
    );
    for (const url of ["https://evil.com/steal?token=s3cret", "https://user:s3cret@api.example.com/"]) {
      let message = "";
      try {
        checkUrl(url, policy);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^egress refused/);
      expect(message).not.toMatch(/s3cret|steal/);
    }
  });

  it("reports IP literals so that nothing is resolved for them", () => {
    expect(checkUrl("https://10.0.0.1/", policy).ipLiteral).toBe(4);
    expect(checkUrl("https://api.example.com/", policy).ipLiteral).toBe(0);
    expect(checkUrl("https://[2001:db8::1]/", { allowedHosts: ["2001:db8::1"] })).toMatchObject({
      hostname: "2001:db8::1",
      ipLiteral: 6,
    });
  });
});

describe("addresses", () => {
  // public: always reachable; lan: only with allowPrivateNetworks; never: not even then.
  type Reach = "public" | "lan" | "never";
  const rows: [string, AddressCategory, Reach][] = [
    ["93.184.215.14", "public", "public"],
    ["8.8.8.8", "public", "public"],
    ["172.15.255.255", "public", "public"],
    ["172.32.0.0", "public", "public"],
    ["192.169.0.1", "public", "public"],
    ["100.63.255.255", "public", "public"],
    ["100.128.0.0", "public", "public"],
    ["198.20.0.0", "public", "public"],
    ["127.0.0.1", "loopback", "lan"],
    ["127.255.255.254", "loopback", "lan"],
    ["10.0.0.1", "private", "lan"],
    ["10.255.255.255", "private", "lan"],
    ["172.16.0.1", "private", "lan"],
    ["172.31.255.255", "private", "lan"],
    ["192.168.1.1", "private", "lan"],
    ["169.254.1.1", "link-local", "lan"],
    ["100.64.0.1", "shared", "lan"],
    ["100.127.255.255", "shared", "lan"],
    ["198.18.0.1", "benchmarking", "lan"],
    ["198.19.255.255", "benchmarking", "lan"],
    ["169.254.169.254", "metadata", "never"],
    ["169.254.170.2", "metadata", "never"],
    ["100.100.100.200", "metadata", "never"],
    ["168.63.129.16", "metadata", "never"],
    ["0.0.0.0", "unspecified", "never"],
    ["0.1.2.3", "unspecified", "never"],
    ["255.255.255.255", "broadcast", "never"],
    ["224.0.0.1", "multicast", "never"],
    ["239.255.255.250", "multicast", "never"],
    ["240.0.0.1", "reserved", "never"],
    ["192.0.0.8", "reserved", "never"],
    ["192.0.2.1", "documentation", "never"],
    ["198.51.100.7", "documentation", "never"],
    ["203.0.113.9", "documentation", "never"],
    // IPv6
    ["2606:4700:4700::1111", "public", "public"],
    ["2001:4860:4860:0:0:0:0:8888", "public", "public"],
    ["::1", "loopback", "lan"],
    ["0:0:0:0:0:0:0:1", "loopback", "lan"],
    ["::", "unspecified", "never"],
    ["0::0", "unspecified", "never"],
    ["fc00::1", "private", "lan"],
    ["fd12:3456::1", "private", "lan"],
    ["FE80::1", "link-local", "lan"],
    ["febf:ffff::1", "link-local", "lan"],
    ["fd00:ec2::254", "metadata", "never"],
    ["fd00:ec2:0:0:0:0:0:254", "metadata", "never"],
    ["fd00:ec2::255", "private", "lan"],
    ["ff02::1", "multicast", "never"],
    ["2001:db8::1", "documentation", "never"],
    ["3fff::1", "documentation", "never"],
    ["2001::1", "teredo", "never"],
    ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "teredo", "never"],
    ["100::1", "reserved", "never"],
    ["4000::1", "reserved", "never"],
    // IPv6 forms that embed an IPv4 address, judged by it
    ["::ffff:10.0.0.1", "private", "lan"],
    ["::ffff:a00:1", "private", "lan"],
    ["::ffff:8.8.8.8", "public", "public"],
    ["::ffff:127.0.0.1", "loopback", "lan"],
    ["::ffff:169.254.169.254", "metadata", "never"],
    ["::ffff:0.0.0.0", "unspecified", "never"],
    ["::ffff:0:10.0.0.1", "private", "lan"],
    ["::10.0.0.1", "private", "lan"],
    ["::8.8.8.8", "public", "public"],
    ["64:ff9b::10.0.0.1", "private", "lan"],
    ["64:ff9b::808:808", "public", "public"],
    ["64:ff9b::a9fe:a9fe", "metadata", "never"],
    ["64:ff9b:1::1", "private", "lan"],
    ["2002:a00:1::", "private", "lan"],
    ["2002:7f00:1::1", "loopback", "lan"],
    ["2002:808:808::1", "public", "public"],
    ["2002:a9fe:a9fe::", "metadata", "never"],
    // Not addresses we can judge
    ["fe80::1%eth0", "invalid", "never"],
    ["fe80::1%1", "invalid", "never"],
    ["10.0.0.1%eth0", "invalid", "never"],
    ["01.2.3.4", "invalid", "never"],
    ["1.2.3", "invalid", "never"],
    ["1::2::3", "invalid", "never"],
    ["12345::1", "invalid", "never"],
    ["::ffff:1.2.3.256", "invalid", "never"],
    ["api.example.com", "invalid", "never"],
    ["", "invalid", "never"],
  ];
  it.each(rows)("%s is %s (%s)", (address, category, reach) => {
    const strict = checkAddress(address, false);
    const lan = checkAddress(address, true);
    expect(strict.category).toBe(category);
    expect([strict.allowed, lan.allowed]).toEqual([reach === "public", reach !== "never"]);
  });

  it("says which range refused an address, and through which embedding", () => {
    expect(checkAddress("10.1.2.3", false).description).toBe("in 10.0.0.0/8 (private network)");
    expect(checkAddress("169.254.169.254", true).description).toMatch(/cloud metadata/);
    expect(checkAddress("::ffff:192.168.0.1", false).description).toBe(
      "IPv4-mapped, embedding 192.168.0.1 in 192.168.0.0/16 (private network)",
    );
    expect(checkAddress("2002:a00:1::", false).description).toMatch(/^6to4, embedding 10\.0\.0\.1 in 10\.0\.0\.0\/8/);
    expect(checkAddress("fe80::1%eth0", true).description).toMatch(/zone id/);
  });
});
