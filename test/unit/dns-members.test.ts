// Who ctrnet's DNS server answers for (from the records), what a container's resolv.conf and hosts say with
// it, and the /etc options of run/create/hook.
import { describe, expect, test } from "bun:test";
import { newContainerRecord, withStatus } from "../../src/container/attachments.ts";
import { containerHosts, containerResolvConf } from "../../src/container/dns-files.ts";
import { dnsMemberOf, dnsNameservers, dnsNetworkFrames } from "../../src/container/dns-members.ts";
import { configuredResolvOptions, parseEtcOptions } from "../../src/container/etc-options.ts";
import { UsageError } from "../../src/errors.ts";
import type { NetworkStatus } from "../../src/schema/network-status.ts";
import type { ContainerRecord } from "../../src/state/index.ts";

function status(addresses: { address: string; gateway?: string }[]): NetworkStatus {
  return { interfaces: [{ name: "eth0", addresses }], routes: [], dns: { nameservers: [], search: [], options: [] } };
}

function container(id: string, name: string | null, networks: { network: string; aliases?: string[]; addresses: { address: string; gateway?: string }[] }[]): ContainerRecord {
  let rec = newContainerRecord({ id, name, mode: { kind: "bridge" }, networks: networks.map(({ network, aliases }) => ({ network, aliases })) });
  for (const n of networks) rec = withStatus(rec, n.network, status(n.addresses));
  return { ...rec, state: "ready" };
}

const front = { name: "front", subnets: ["10.89.0.0/24", "fd89::/64"] };
const back = { name: "back", subnets: ["10.90.0.0/24"] };
const internal = { name: "internal", subnets: ["10.91.0.0/24"] };

const web = container("0123456789abcdef", "web", [
  { network: "front", aliases: ["www", "web"], addresses: [{ address: "10.89.0.2/24", gateway: "10.89.0.1" }, { address: "fd89::2/64", gateway: "fd89::1" }] },
  { network: "back", addresses: [{ address: "10.90.0.2/24", gateway: "10.90.0.1" }] },
]);
const anonymous = container("c1", null, [{ network: "front", addresses: [{ address: "10.89.0.3/24", gateway: "10.89.0.1" }] }]);
const isolated = container("c2", "iso", [{ network: "internal", addresses: [{ address: "10.91.0.2/24" }] }]);

describe("dnsMemberOf and dnsNetworkFrames", () => {
  test("a container's member file: per served network it is on, its name, aliases and short id, its addresses there, the gateways", () => {
    expect(dnsMemberOf(web, [front, back, internal])).toEqual({
      networks: [
        { network: "front", gateways: ["10.89.0.1", "fd89::1"], container: { name: "web", id: "0123456789ab", aliases: ["www"], ipv4: ["10.89.0.2"], ipv6: ["fd89::2"] } },
        { network: "back", gateways: ["10.90.0.1"], container: { name: "web", id: "0123456789ab", aliases: [], ipv4: ["10.90.0.2"], ipv6: [] } },
      ],
    });
    // no name: its id is its name
    expect(dnsMemberOf(anonymous, [front])).toEqual({ networks: [{ network: "front", gateways: ["10.89.0.1"], container: { name: "c1", id: "c1", aliases: [], ipv4: ["10.89.0.3"], ipv6: [] } }] });
    // the internal network has no gateway on the host: nothing listens there for it
    expect(dnsMemberOf(isolated, [internal])?.networks[0]?.gateways).toEqual([]);
  });

  test("a network not served, a container being removed or leaving (whole or from one network) give nothing there", () => {
    expect(dnsMemberOf(web, [back])?.networks.map((n) => n.network)).toEqual(["back"]);
    expect(dnsMemberOf(web, [internal])).toBeUndefined();
    expect(dnsMemberOf({ ...web, state: "removing" }, [front, back])).toBeUndefined();
    expect(dnsMemberOf(web, [front, back], { id: web.id })).toBeUndefined();
    // another container leaving changes nothing of this one
    expect(dnsMemberOf(web, [front], { id: anonymous.id })?.networks.length).toBe(1);
    // one network of it leaving: it stays on the other
    expect(dnsMemberOf(web, [front, back], { id: web.id, network: "front" })?.networks.map((n) => n.network)).toEqual(["back"]);
  });

  test("the configuration's networks: each served one, its containers in member files", () => {
    expect(dnsNetworkFrames([front, { ...internal, internal: true, dnsServers: ["192.0.2.53"] }])).toEqual([
      { name: "front", gateways: [], subnets: front.subnets, internal: false, containers: [] },
      { name: "internal", gateways: [], subnets: internal.subnets, internal: true, containers: [], upstreams: [{ address: "192.0.2.53", port: 53 }] },
    ]);
  });

  test("a container's --dns servers are its own upstreams on each network (podman's NetworkOptions.DNSServers for aardvark-dns)", () => {
    const withDns = { ...web, etc: { dns: ["192.0.2.53", "2001:db8::53"] } };
    expect(dnsMemberOf(withDns, [front])?.networks.map((n) => n.container.dnsServers)).toEqual([["192.0.2.53", "2001:db8::53"]]);
    expect(dnsMemberOf(anonymous, [front])?.networks[0]?.container.dnsServers).toBeUndefined();
  });

  test("dnsNameservers: the gateways of the container's served networks, in attachment order", () => {
    expect(dnsNameservers(web, new Set(["front", "back"]))).toEqual(["10.89.0.1", "fd89::1", "10.90.0.1"]);
    expect(dnsNameservers(web, new Set(["back"]))).toEqual(["10.90.0.1"]);
    expect(dnsNameservers(isolated, new Set(["front"]))).toEqual([]);
  });
});

describe("resolv.conf and hosts with ctrnet's server", () => {
  const host = { nameservers: ["192.0.2.53", "127.0.0.53"], search: ["corp.example"], options: ["edns0"] };
  const base = { host, networks: [], reach: "isolated" as const, ipv6: false };

  test("the server alone as nameserver (IPv6 ones only for a container with IPv6), its domain first, the host's search and options after", () => {
    expect(containerResolvConf({ ...base, dnsServers: ["10.89.0.1", "fd89::1"], dnsDomain: "dns.ctrnet" }).conf).toEqual({
      nameservers: ["10.89.0.1"],
      search: ["dns.ctrnet", "corp.example"],
      options: ["edns0"],
    });
    expect(containerResolvConf({ ...base, ipv6: true, dnsServers: ["10.89.0.1", "fd89::1"], dnsDomain: "dns.ctrnet" }).conf.nameservers).toEqual(["10.89.0.1", "fd89::1"]);
    // a rootless user's slirp DNS is the server's upstream, not the container's
    expect(containerResolvConf({ ...base, preferred: ["10.0.2.3"], dnsServers: ["10.89.0.1"], dnsDomain: "dns.ctrnet" }).conf.nameservers).toEqual(["10.89.0.1"]);
  });

  test("--dns beside ctrnet's server is the server's upstream, not in resolv.conf (podman with netavark); without a server it replaces every nameserver; --dns-search replaces the search list; --dns-option replaces the options", () => {
    const served = { ...base, dnsServers: ["10.89.0.1"], dnsDomain: "dns.ctrnet" };
    expect(containerResolvConf({ ...served, nameservers: ["9.9.9.9"] }).conf).toEqual({ nameservers: ["10.89.0.1"], search: ["dns.ctrnet", "corp.example"], options: ["edns0"] });
    expect(containerResolvConf({ ...base, nameservers: ["9.9.9.9"] }).conf).toEqual({ nameservers: ["9.9.9.9"], search: ["corp.example"], options: ["edns0"] });
    // --dns-option replaces the host's options, as podman's (e2e: run with macvlan network, exact resolv.conf)
    expect(containerResolvConf({ ...served, search: ["a.example"], options: ["ndots:2"] }).conf).toEqual({ nameservers: ["10.89.0.1"], search: ["a.example"], options: ["ndots:2"] });
    expect(containerResolvConf({ ...served, search: ["."] }).conf.search).toEqual([]);
    // without a server, as before: the host's reachable nameservers
    expect(containerResolvConf(base).conf.nameservers).toEqual(["192.0.2.53"]);
  });

  test("hosts in podman's order: --add-host lines, localhost, the host's address, the container's own (hostname first)", () => {
    expect(containerHosts({ host: "", addresses: ["10.89.0.2"], names: ["box", "web", "0123456789ab"], gateway: "10.89.0.1", extraHosts: [{ name: "db.local", address: "192.0.2.9" }] })).toBe(
      "192.0.2.9\tdb.local\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.89.0.1\thost.containers.internal host.docker.internal\n10.89.0.2\tbox web 0123456789ab\n",
    );
  });

  test("hosts with a base file (podman's --hosts-file): every entry of it (normalized) after --add-host's, then the generated ones", () => {
    expect(containerHosts({ host: "127.0.0.1 localhost\n192.0.2.7 hostonly\n", base: "23.45.67.89 file.example.com", addresses: ["10.89.0.2"], names: ["box"], gateway: "10.89.0.1", extraHosts: [{ name: "add.example.com", address: "34.56.78.90" }] })).toBe(
      "34.56.78.90\tadd.example.com\n23.45.67.89\tfile.example.com\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.89.0.1\thost.containers.internal host.docker.internal\n10.89.0.2\tbox\n",
    );
    expect(containerHosts({ host: "127.0.0.1 localhost\n", base: "", addresses: ["10.89.0.2"], names: ["box"] })).toBe("127.0.0.1\tlocalhost\n::1\tlocalhost\n10.89.0.2\tbox\n");
  });

  test("hosts with a base file (podman's base_hosts_file): all its entries, comments dropped, before podman's own; its names taken", () => {
    expect(containerHosts({ host: "127.0.0.1 hostloop\n", base: "# c\n192.0.2.7 b1\n192.0.2.8 b2 b2a # x\n", addresses: ["10.89.0.2"], names: ["b1"], gateway: "10.89.0.1" })).toBe(
      "192.0.2.7\tb1\n192.0.2.8\tb2 b2a\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.89.0.1\thost.containers.internal host.docker.internal\n",
    );
  });

  test("hosts: a name an --add-host line has already is not written again (podman's addEntriesIfNotExists)", () => {
    expect(containerHosts({ host: "", addresses: ["10.89.0.2"], names: ["box", "0123456789ab"], gateway: "10.89.0.1", extraHosts: [{ name: "box", address: "192.0.2.9" }, { name: "host.docker.internal", address: "192.0.2.1" }] })).toBe(
      "192.0.2.9\tbox\n192.0.2.1\thost.docker.internal\n127.0.0.1\tlocalhost\n::1\tlocalhost\n10.89.0.1\thost.containers.internal\n10.89.0.2\t0123456789ab\n",
    );
    expect(containerHosts({ host: "", addresses: ["10.89.0.2"], names: ["box"], extraHosts: [{ name: "box", address: "192.0.2.9" }] })).toBe("192.0.2.9\tbox\n127.0.0.1\tlocalhost\n::1\tlocalhost\n");
  });
});

describe("parseEtcOptions", () => {
  test("values are checked and canonical", () => {
    expect(parseEtcOptions({ dns: ["fd00:0::53", "192.0.2.1"], dnsSearch: ["example.org."], dnsOptions: ["ndots:2", "edns0"], addHosts: ["db:192.0.2.9", "v6:fd00::9", "gw:host-gateway", "eq=192.0.2.10"], hostname: "box.example", noHosts: false })).toEqual({
      dns: ["fd00::53", "192.0.2.1"],
      dnsSearch: ["example.org"],
      dnsOptions: ["ndots:2", "edns0"],
      addHosts: [
        { name: "db", address: "192.0.2.9" },
        { name: "v6", address: "fd00::9" },
        { name: "gw", address: "host-gateway" },
        { name: "eq", address: "192.0.2.10" },
      ],
      hostname: "box.example",
    });
    expect(parseEtcOptions({})).toEqual({});
    // podman's looser ones: a hostname with _ (e2e --hosts-file: hosts_test.dev), several names on one --add-host line
    expect(parseEtcOptions({ hostname: "hosts_test.dev", addHosts: ["a.example;b_c:192.0.2.9"] })).toEqual({ hostname: "hosts_test.dev", addHosts: [{ name: "a.example b_c", address: "192.0.2.9" }] });
  });

  test("--hosts-file: a readable file (absolute), none, or image and \"\" for the default; not with --no-hosts", () => {
    expect(parseEtcOptions({ hostsFile: "/etc/hostname" })).toEqual({ hostsFile: "/etc/hostname" });
    expect(parseEtcOptions({ hostsFile: "none" })).toEqual({ hostsFile: "none" });
    expect(parseEtcOptions({ hostsFile: "image" })).toEqual({});
    expect(parseEtcOptions({ hostsFile: "" })).toEqual({});
    expect(() => parseEtcOptions({ hostsFile: "/nonexistent/hosts" })).toThrow('invalid --hosts-file "/nonexistent/hosts": no such file');
    expect(() => parseEtcOptions({ hostsFile: "none", noHosts: true })).toThrow("--no-hosts and --hosts-file cannot be set together");
  });

  test("bad values are usage errors naming the option and the value", () => {
    for (const [raw, words] of [
      [{ dns: ["8.8.8"] }, `invalid --dns "8.8.8": 8.8.8 is not an ip address`],
      [{ dnsSearch: ["a b"] }, `invalid --dns-search "a b": expected a domain name (or . for none)`],
      [{ dnsSearch: [".", "a.example"] }, "--dns-search . (no search domain) cannot be given with other domains"],
      [{ dnsOptions: ["nd ots"] }, `invalid --dns-option "nd ots": expected an option such as ndots:2 or edns0`],
      [{ addHosts: [":1.2.3.4"] }, `invalid --add-host ":1.2.3.4": bad format for add-host: ":1.2.3.4" (expected NAME:IP)`],
      [{ addHosts: ["a;:1.2.3.4"] }, `invalid --add-host "a;:1.2.3.4": hostname in add-host "a;:1.2.3.4" is empty`],
      [{ addHosts: ["bad#name:1.2.3.4"] }, `invalid --add-host "bad#name:1.2.3.4": "bad#name" is not a host name`],
      [{ addHosts: ["x:300.1.1.1"] }, `invalid --add-host "x:300.1.1.1": invalid IP address in add-host: "300.1.1.1"`],
      [{ hostname: "-box" }, `invalid hostname "-box": expected up to 64 letters, digits, _ . or -, the first a letter or digit`],
      [{ hostname: "x".repeat(65) }, `invalid hostname "${"x".repeat(65)}": expected up to 64 letters, digits, _ . or -, the first a letter or digit`],
      [{ noHosts: true, addHosts: ["a:1.2.3.4"] }, "--no-hosts and --add-host cannot be set together"],
    ] as const) {
      expect(() => parseEtcOptions(raw)).toThrow(new UsageError(words));
    }
  });
});

test("containers.conf's dns_servers, dns_searches and dns_options from CTRNET_DNS_SERVERS, _SEARCHES, _OPTIONS: comma-separated, none when unset", () => {
  expect(configuredResolvOptions({})).toEqual({ dns: [], dnsSearch: [], dnsOptions: [] });
  expect(configuredResolvOptions({ CTRNET_DNS_SERVERS: "1.1.1.1, 8.8.8.8", CTRNET_DNS_SEARCHES: "example.com", CTRNET_DNS_OPTIONS: "ndots:3,edns0" })).toEqual({
    dns: ["1.1.1.1", "8.8.8.8"],
    dnsSearch: ["example.com"],
    dnsOptions: ["ndots:3", "edns0"],
  });
});
