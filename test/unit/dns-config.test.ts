// The DNS server's configuration file and the host's upstreams: schema errors, atomic writes, resolv.conf.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dnsMemberKey, dnsMemberKeys, readDnsConfig, readDnsMember, writeDnsConfig, writeDnsMember } from "../../src/drivers/dns/config.ts";
import { hostUpstreams, parseNameservers } from "../../src/drivers/dns/upstreams.ts";

const dir = mkdtempSync(`${tmpdir()}/ctrnet-dns-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NETWORK = { name: "n1", gateways: ["10.89.0.1"], subnets: ["10.89.0.0/24"], containers: [{ name: "web", id: "0123456789ab", ipv4: ["10.89.0.2"] }] };

describe("configuration file", () => {
  test("each write raises the generation; the file is 0600 in a 0700 directory, no temp file left", () => {
    const path = `${dir}/state/dns.json`;
    expect(writeDnsConfig(path, { networks: [NETWORK] })).toBe(1);
    expect(writeDnsConfig(path, { networks: [] })).toBe(2);
    expect(readDnsConfig(path)).toEqual({ generation: 2, networks: [], port: 53 });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(`${dir}/state`).mode & 0o777).toBe(0o700);
    expect(readdirSync(`${dir}/state`)).toEqual(["dns.json"]);
  });

  test("bad input is one line naming the field, and nothing is written", () => {
    const path = `${dir}/bad.json`;
    const bad = { ...NETWORK, containers: [{ ...NETWORK.containers[0]!, id: "0123456789abcdef" }] };
    expect(() => writeDnsConfig(path, { networks: [bad] })).toThrow("DNS configuration: networks[0].containers[0].id: expected at most the first 12 characters of the id");
    expect(() => writeDnsConfig(path, { networks: [{ ...NETWORK, subnets: ["10.89.0.0"] }] })).toThrow("networks[0].subnets[0]: expected a subnet like 10.89.0.0/24");
    expect(() => writeDnsConfig(path, { networks: [{ ...NETWORK, gateways: ["10.089.0.1"] }] })).toThrow("networks[0].gateways[0]: expected an IP address in canonical form");
    expect(readDnsConfig(path)).toBeNull();
  });

  test("a file that is not JSON or not the schema is a usage error naming the file", () => {
    writeFileSync(`${dir}/junk.json`, "{");
    expect(() => readDnsConfig(`${dir}/junk.json`)).toThrow(`${dir}/junk.json: not JSON`);
    writeFileSync(`${dir}/extra.json`, JSON.stringify({ generation: 1, networks: [], extra: 1 }));
    expect(() => readDnsConfig(`${dir}/extra.json`)).toThrow(`${dir}/extra.json: extra:`);
  });
});

describe("member files", () => {
  const config = `${dir}/members-test/config.json`;
  const member = { networks: [{ network: "n1", gateways: ["10.89.0.1"], container: NETWORK.containers[0]! }] };

  test("written beside the configuration, one per container; the same content again is no write; none removes it", () => {
    expect(dnsMemberKeys(config)).toEqual([]);
    expect(writeDnsMember(config, "abc", member)).toBe(true);
    expect(writeDnsMember(config, "abc", member)).toBe(false);
    expect(readDnsMember(config, "abc")).toEqual({ networks: [{ ...member.networks[0]!, container: { ...NETWORK.containers[0]!, aliases: [], ipv6: [] } }] });
    expect(statSync(`${dir}/members-test/members/abc.json`).mode & 0o777).toBe(0o600);
    expect(writeDnsMember(config, "def", member)).toBe(true);
    expect(dnsMemberKeys(config).sort()).toEqual(["abc", "def"]);
    expect(writeDnsMember(config, "abc", undefined)).toBe(true);
    expect(writeDnsMember(config, "abc", undefined)).toBe(false);
    expect(readDnsMember(config, "abc")).toBeUndefined();
    expect(dnsMemberKeys(config)).toEqual(["def"]);
  });

  test("a container id too long for a file name has a digest for key; bad keys and members are one line, nothing written", () => {
    expect(dnsMemberKey("a".repeat(64))).toBe("a".repeat(64));
    const long = dnsMemberKey("a".repeat(200));
    expect(long).toMatch(/^h-[0-9a-f]{64}$/);
    expect(dnsMemberKey("a".repeat(200))).toBe(long);
    expect(() => writeDnsMember(config, "../x", member)).toThrow('DNS member "../x": expected a container id');
    expect(() => writeDnsMember(config, "bad", { networks: [{ ...member.networks[0]!, gateways: ["10.89.0.001"] }] })).toThrow("DNS member bad: networks[0].gateways[0]: expected an IP address in canonical form");
    expect(readDnsMember(config, "bad")).toBeUndefined();
    writeFileSync(`${dir}/members-test/members/junk.json`, JSON.stringify({ networks: [], extra: 1 }));
    expect(() => readDnsMember(config, "junk")).toThrow(`${dir}/members-test/members/junk.json: extra:`);
  });
});

describe("upstreams", () => {
  test("nameserver lines in order, canonical, deduplicated, zone index dropped, junk ignored", () => {
    const text = "# comment\nsearch example.com\nnameserver 192.0.2.1\nnameserver  FE80::1%eth0\nnameserver 192.0.2.1\nnameserver bogus\noptions ndots:2\n";
    expect(parseNameservers(text)).toEqual(["192.0.2.1", "fe80::1"]);
  });

  test("systemd-resolved's stub is replaced by its real upstreams; the server's own addresses are left out", () => {
    writeFileSync(`${dir}/resolv.conf`, "nameserver 127.0.0.53\noptions edns0 trust-ad\n");
    writeFileSync(`${dir}/resolved.conf`, "nameserver 198.51.100.7\nnameserver 10.89.0.1\nnameserver 2001:db8::53\n");
    expect(hostUpstreams(["10.89.0.1"], `${dir}/resolv.conf`, `${dir}/resolved.conf`)).toEqual([
      { address: "198.51.100.7", port: 53 },
      { address: "2001:db8::53", port: 53 },
    ]);
    expect(hostUpstreams([], `${dir}/resolv.conf`, `${dir}/missing.conf`)).toEqual([{ address: "127.0.0.53", port: 53 }]);
    writeFileSync(`${dir}/plain.conf`, "nameserver 192.0.2.53\n");
    expect(hostUpstreams([], `${dir}/plain.conf`, `${dir}/resolved.conf`)).toEqual([{ address: "192.0.2.53", port: 53 }]);
    expect(hostUpstreams([], `${dir}/missing.conf`)).toEqual([]);
  });
});
