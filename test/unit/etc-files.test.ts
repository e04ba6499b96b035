import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import { newContainerRecord } from "../../src/container/attachments.ts";
import { type CniResultShape, statusFromCniResult } from "../../src/schema/network-status.ts";
import type { NetMode } from "../../src/state/index.ts";
import {
  containerHosts,
  containerResolvConf,
  type ContainerResolvConfInput,
  FALLBACK_NAMESERVERS,
  formatResolvConf,
  isLoopback,
  parseResolvConf,
  pickHostResolvConf,
  replaceOwnHostsEntries,
  type ResolvConf,
} from "../../src/container/dns-files.ts";
import { containerEtcFiles, etcFilesDir, hostEtcFor, removeEtcFiles, wantedEtcFiles, writeEtcFiles } from "../../src/lifecycle/etc-files.ts";
import { slirp4netnsDriver } from "../../src/drivers/slirp4netns/driver.ts";

const conf = (over: Partial<ResolvConf>): ResolvConf => ({ nameservers: [], search: [], options: [], ...over });

describe("parseResolvConf / formatResolvConf", () => {
  test("reads nameservers, search, options; skips comments and unknown keywords", () => {
    const text = [
      "# generated",
      "; also a comment",
      "nameserver 10.0.0.53",
      "nameserver   fd00::53  # trailing",
      "domain old.example",
      "search a.example b.example",
      "options ndots:2",
      "options edns0 rotate",
      "sortlist 10.0.0.0/8",
      "nameserver",
      "",
    ].join("\n");
    expect(parseResolvConf(text)).toEqual({
      nameservers: ["10.0.0.53", "fd00::53"],
      search: ["a.example", "b.example"],
      options: ["ndots:2", "edns0", "rotate"],
    });
  });

  test("the last of search and domain wins, as in the resolver", () => {
    expect(parseResolvConf("search a.example\ndomain b.example\n").search).toEqual(["b.example"]);
  });

  test("formats one keyword per line and leaves out empty lists", () => {
    expect(formatResolvConf(conf({ nameservers: ["1.1.1.1", "9.9.9.9"], options: ["ndots:1"] }))).toBe(
      "nameserver 1.1.1.1\nnameserver 9.9.9.9\noptions ndots:1\n",
    );
    expect(formatResolvConf(conf({}))).toBe("");
  });

  test("round-trips", () => {
    const c = conf({ nameservers: ["10.1.2.3"], search: ["x.example"], options: ["edns0"] });
    expect(parseResolvConf(formatResolvConf(c))).toEqual(c);
  });
});

describe("isLoopback", () => {
  test.each([
    ["127.0.0.1", true],
    ["127.0.0.53", true],
    ["127.255.255.254", true],
    ["::1", true],
    ["0:0:0:0:0:0:0:1", true],
    ["::ffff:127.0.0.1", true],
    ["128.0.0.1", false],
    ["10.0.0.1", false],
    ["::", false],
    ["::2", false],
    ["fe80::1", false],
    ["::ffff:10.0.0.1", false],
    ["not-an-ip", false],
  ])("%s -> %p", (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});

describe("pickHostResolvConf", () => {
  const stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
  const upstream = "nameserver 192.168.1.1\nnameserver fd00::1\nsearch lan\n";

  test("systemd-resolved's stub is replaced by the servers it uses", () => {
    expect(pickHostResolvConf(stub, upstream)).toEqual(conf({ nameservers: ["192.168.1.1", "fd00::1"], search: ["lan"] }));
  });

  test("without resolved's file the stub stays (and is filtered later)", () => {
    expect(pickHostResolvConf(stub, undefined).nameservers).toEqual(["127.0.0.53"]);
  });

  test("a host not using the stub keeps its own file", () => {
    expect(pickHostResolvConf("nameserver 10.0.0.1\n", upstream).nameservers).toEqual(["10.0.0.1"]);
  });
});

describe("containerResolvConf", () => {
  const host = conf({
    nameservers: ["127.0.0.1", "10.0.0.53", "::1", "fd00::53", "fe80::1%eth0", "10.0.0.53"],
    search: ["corp.example"],
    options: ["ndots:2"],
  });
  const input = (over: Partial<ContainerResolvConfInput>): ContainerResolvConfInput => ({
    host,
    networks: [],
    reach: "isolated",
    ipv6: false,
    ...over,
  });

  test("drops loopback servers, zoned ones, duplicates, and IPv6 ones without IPv6; keeps search and options", () => {
    expect(containerResolvConf(input({}))).toEqual({
      conf: { nameservers: ["10.0.0.53"], search: ["corp.example"], options: ["ndots:2"] },
      fellBack: false,
    });
  });

  test("keeps IPv6 servers when the container has IPv6", () => {
    expect(containerResolvConf(input({ ipv6: true })).conf.nameservers).toEqual(["10.0.0.53", "fd00::53"]);
  });

  test("falls back to podman's public servers when nothing reachable is left", () => {
    const r = containerResolvConf(input({ host: conf({ nameservers: ["127.0.0.53"], search: ["lan"] }) }));
    expect(r).toEqual({ conf: conf({ nameservers: [...FALLBACK_NAMESERVERS], search: ["lan"] }), fellBack: true });
  });

  test("preferred servers (the rootless netns's slirp DNS) come first, and no fallback is needed with them", () => {
    expect(containerResolvConf(input({ preferred: ["10.0.2.3"] })).conf.nameservers).toEqual(["10.0.2.3", "10.0.0.53"]);
    const onlyLoopback = containerResolvConf(input({ host: conf({ nameservers: ["127.0.0.53"] }), preferred: ["10.0.2.3"] }));
    expect(onlyLoopback).toEqual({ conf: conf({ nameservers: ["10.0.2.3"] }), fellBack: false });
  });

  test("an override still replaces everything, preferred servers too", () => {
    expect(containerResolvConf(input({ nameservers: ["10.42.7.3"], preferred: ["10.0.2.3"] })).conf.nameservers).toEqual(["10.42.7.3"]);
  });

  test("an empty host file falls back too", () => {
    expect(containerResolvConf(input({ host: conf({}) })).fellBack).toBe(true);
  });

  test("a network's own DNS replaces the host's servers; its domains come first", () => {
    const r = containerResolvConf(
      input({ networks: [{ nameservers: ["10.89.0.1"], domain: "dns.podman", search: ["dns.podman", "extra"], options: ["attempts:1"] }] }),
    );
    expect(r.conf).toEqual({
      nameservers: ["10.89.0.1"],
      search: ["dns.podman", "extra", "corp.example"],
      options: ["attempts:1", "ndots:2"],
    });
  });

  test("servers of several networks are kept in attachment order", () => {
    const r = containerResolvConf(input({ networks: [{ nameservers: ["10.1.0.1"] }, {}, { nameservers: ["10.2.0.1", "10.1.0.1"] }] }));
    expect(r.conf.nameservers).toEqual(["10.1.0.1", "10.2.0.1"]);
  });

  test("an override (slirp4netns's DNS) wins over everything", () => {
    const r = containerResolvConf(input({ networks: [{ nameservers: ["10.1.0.1"] }], nameservers: ["10.0.2.3"] }));
    expect(r.conf.nameservers).toEqual(["10.0.2.3"]);
  });

  test("the host's own network namespace keeps the host's servers as they are", () => {
    expect(containerResolvConf(input({ reach: "shared" })).conf.nameservers).toEqual([
      "127.0.0.1",
      "10.0.0.53",
      "::1",
      "fd00::53",
      "fe80::1%eth0",
    ]);
  });

  test("--network none keeps no loopback server and adds no fallback", () => {
    expect(containerResolvConf(input({ reach: "none" })).conf.nameservers).toEqual(["10.0.0.53"]);
    expect(containerResolvConf(input({ reach: "none", host: conf({ nameservers: ["127.0.0.53"] }) }))).toEqual({
      conf: conf({}),
      fellBack: false,
    });
  });
});

describe("containerHosts", () => {
  const debian = [
    "127.0.0.1\tlocalhost",
    "127.0.1.1\tmyhost.example\tmyhost",
    "",
    "# The following lines are desirable for IPv6 capable hosts",
    "::1     localhost ip6-localhost ip6-loopback",
    "ff02::1 ip6-allnodes",
    "10.0.0.9 fileserver",
  ].join("\n");

  test("keeps the host's localhost lines only, then the gateway and the container's addresses", () => {
    expect(
      containerHosts({ host: debian, addresses: ["10.88.0.2", "fd00::2"], names: ["web", "0123456789ab"], gateway: "10.88.0.1" }),
    ).toBe(
      [
        "127.0.0.1\tlocalhost",
        "::1     localhost ip6-localhost ip6-loopback",
        "10.88.0.1\thost.containers.internal host.docker.internal",
        "10.88.0.2\tweb 0123456789ab",
        "fd00::2\tweb 0123456789ab",
        "",
      ].join("\n"),
    );
  });

  test("connect and disconnect of a record without its options: its own lines follow its addresses, the others stay", () => {
    const made = containerHosts({ host: debian, addresses: ["10.88.0.2"], names: ["hh", "web"], gateway: "10.88.0.1", extraHosts: [{ name: "db", address: "1.2.3.4" }] });
    const connected = replaceOwnHostsEntries(made, ["10.88.0.2"], ["10.88.0.2", "10.89.0.7"], ["web"]);
    expect(connected).toBe(
      ["1.2.3.4\tdb", "127.0.0.1\tlocalhost", "::1     localhost ip6-localhost ip6-loopback", "10.88.0.1\thost.containers.internal host.docker.internal", "10.88.0.2\thh web", "10.89.0.7\thh web", ""].join("\n"),
    );
    const disconnected = replaceOwnHostsEntries(connected, ["10.88.0.2", "10.89.0.7"], ["10.89.0.7"], ["web"]);
    expect(disconnected).not.toContain("10.88.0.2\t");
    expect(disconnected).toContain("host.docker.internal\n10.89.0.7\thh web\n");
    // none left, then a new one: appended, as podman's etchosts.Add, with the names it is given
    const none = replaceOwnHostsEntries(disconnected, ["10.89.0.7"], [], ["web"]);
    expect(replaceOwnHostsEntries(none, [], ["10.90.0.3"], ["web", "0123456789ab"]).split("\n").slice(3, 5)).toEqual(["10.88.0.1\thost.containers.internal host.docker.internal", "10.90.0.3\tweb 0123456789ab"]);
  });

  test("Fedora's long localhost lines are kept whole", () => {
    const fedora = "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n";
    expect(containerHosts({ host: fedora, addresses: [], names: ["c"] })).toBe(
      "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n",
    );
  });

  test("a host file without localhost lines gets podman's", () => {
    expect(containerHosts({ host: "# empty\n10.0.0.9 fileserver\n", addresses: ["10.88.0.2"], names: ["a", "a"] })).toBe(
      "127.0.0.1\tlocalhost\n::1\tlocalhost\n10.88.0.2\ta\n",
    );
  });

  test("no addresses (--network none) and no gateway: localhost only", () => {
    expect(containerHosts({ host: "127.0.0.1 localhost\n", addresses: [], names: ["x"] })).toBe("127.0.0.1 localhost\n");
  });
});

describe("containerEtcFiles", () => {
  const host = { resolvConf: conf({ nameservers: ["127.0.0.53", "10.0.0.53"], search: ["lan"] }), hosts: "127.0.0.1 localhost\n" };
  const id = "0123456789abcdef0123456789abcdef";
  const bridgeResult = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "cni0" }, { name: "veth1" }, { name: "eth0", sandbox: "/run/netns/x" }],
    ips: [
      { interface: 2, address: "10.250.1.2/24", gateway: "10.250.1.1" },
      { interface: 0, address: "10.250.1.1/24" },
      { interface: 2, address: "fd00:250::2/64", gateway: "fd00:250::1" },
    ],
    dns: {},
  };
  const record = (mode: NetMode, results: unknown[], name?: string) => {
    const rec = newContainerRecord({ id, name, mode, networks: results.map((_, i) => ({ network: `net${i}` })) });
    return { ...rec, networks: rec.networks.map((n, i) => ({ ...n, status: statusFromCniResult(results[i] as CniResultShape, n.ifname) })) };
  };
  /** The view networkView gives a bridge container: its networks' statuses, a netns of its own with a way out. */
  const isolated = (rec: ReturnType<typeof record>) => ({ statuses: rec.networks.flatMap((n) => (n.status ? [n.status] : [])), reach: "isolated" as const });

  test("a bridge network: the container's own addresses under its hostname (its short id: podman's default) and name, the IPv4 gateway, the host's reachable DNS", () => {
    const rec = record({ kind: "bridge" }, [bridgeResult], "web");
    const { files, fellBack } = containerEtcFiles(rec, isolated(rec), host);
    expect(fellBack).toBe(false);
    expect(files.hosts).toBe(
      "127.0.0.1 localhost\n10.250.1.1\thost.containers.internal host.docker.internal\n10.250.1.2\t0123456789ab web\nfd00:250::2\t0123456789ab web\n",
    );
    expect(files["resolv.conf"]).toBe("search lan\nnameserver 10.0.0.53\n");
  });

  test("without a name the container answers to its short id (podman's default hostname) and id; a network's DNS wins", () => {
    const withDns = { ...bridgeResult, ips: [bridgeResult.ips[0]], dns: { nameservers: ["10.250.1.1"], search: ["dns.podman"] } };
    const rec = record({ kind: "bridge" }, [withDns]);
    const { files } = containerEtcFiles(rec, isolated(rec), host);
    expect(files.hosts).toContain(`10.250.1.2\t0123456789ab ${id}\n`);
    expect(files["resolv.conf"]).toBe("search dns.podman lan\nnameserver 10.250.1.1\n");
  });

  test("--network none: localhost only, no fallback servers", () => {
    const { files, fellBack } = containerEtcFiles(record({ kind: "none" }, []), { statuses: [], reach: "none" }, { ...host, resolvConf: conf({ nameservers: ["127.0.0.53"] }) });
    expect(fellBack).toBe(false);
    expect(files).toEqual({ "resolv.conf": "", hosts: "127.0.0.1 localhost\n" });
  });

  test("slirp4netns: its guest address, gateway and DNS forwarder from the cidr option", () => {
    // the status the slirp4netns driver knows from the option alone
    const rec = record({ kind: "slirp4netns", options: ["cidr=10.5.0.0/24"] }, [], "s");
    const tap = slirp4netnsDriver(["cidr=10.5.0.0/24"], "/nonexistent").fixedStatus!(rec);
    const { files } = containerEtcFiles(rec, { statuses: [tap], reach: "isolated" }, host);
    expect(files["resolv.conf"]).toBe("search lan\nnameserver 10.5.0.3\n");
    expect(files.hosts).toBe("127.0.0.1 localhost\n10.5.0.2\thost.containers.internal host.docker.internal\n10.5.0.100\t0123456789ab s\n");
    // as etcFilesOf asks for slirp4netns and pasta: the host's reachable servers after the forwarder (podman's
    // addSpecialDNS with KeepHostServers); the host's loopback one and, without IPv6, its IPv6 ones left out
    const hostServers = { ...host, resolvConf: conf({ nameservers: ["127.0.0.53", "10.0.0.53", "fd00::53"], search: ["lan"] }) };
    const kept = containerEtcFiles(rec, { statuses: [tap], reach: "isolated" }, hostServers, { keepHostServers: true });
    expect(kept.files["resolv.conf"]).toBe("search lan\nnameserver 10.5.0.3\nnameserver 10.0.0.53\n");
  });

  test("no reachable server on a bridge network: the fallback, and it says so", () => {
    const rec = record({ kind: "bridge" }, [bridgeResult]);
    const { files, fellBack } = containerEtcFiles(rec, isolated(rec), { ...host, resolvConf: conf({ nameservers: ["::1"] }) });
    expect(fellBack).toBe(true);
    expect(files["resolv.conf"]).toBe("nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  });
});

describe("writeEtcFiles / removeEtcFiles", () => {
  test("write 0644 files in a 0700 directory per container, and remove them again", () => {
    const runtimeDir = mkdtempSync(join(tmpdir(), "ctrnet-etc-"));
    try {
      const ctx = { runtimeDir };
      const paths = writeEtcFiles(ctx, "c1", { "resolv.conf": "nameserver 10.0.0.53\n", hosts: "127.0.0.1 localhost\n" });
      expect(paths).toEqual({ "resolv.conf": join(runtimeDir, "containers/c1/resolv.conf"), hosts: join(runtimeDir, "containers/c1/hosts") });
      expect(readFileSync(paths["resolv.conf"]!, "utf8")).toBe("nameserver 10.0.0.53\n");
      expect(statSync(etcFilesDir(ctx, "c1")).mode & 0o777).toBe(0o700);
      expect(statSync(paths.hosts!).mode & 0o777).toBe(0o644);
      // --dns none, --no-hosts: only the others, and a left-over of the one not wanted goes
      const noDns = writeEtcFiles(ctx, "c1", { "resolv.conf": "x", hosts: "y" }, wantedEtcFiles({ noResolvConf: true }));
      expect(noDns).toEqual({ hosts: join(runtimeDir, "containers/c1/hosts") });
      expect(existsSync(join(runtimeDir, "containers/c1/resolv.conf"))).toBe(false);
      expect(wantedEtcFiles({ noHosts: true })).toEqual(["resolv.conf"]);
      expect(wantedEtcFiles({})).toEqual(["resolv.conf", "hosts"]);
      removeEtcFiles(ctx, "c1");
      expect(existsSync(etcFilesDir(ctx, "c1"))).toBe(false);
      removeEtcFiles(ctx, "c1");
    } finally {
      rmSync(runtimeDir, { recursive: true, force: true });
    }
  });

  test("other files in the container's directory are left alone", () => {
    const runtimeDir = mkdtempSync(join(tmpdir(), "ctrnet-etc-"));
    try {
      const ctx = { runtimeDir };
      writeEtcFiles(ctx, "c2", { "resolv.conf": "", hosts: "" });
      writeFileSync(join(etcFilesDir(ctx, "c2"), "other"), "");
      removeEtcFiles(ctx, "c2");
      expect(existsSync(join(etcFilesDir(ctx, "c2"), "other"))).toBe(true);
      expect(existsSync(join(etcFilesDir(ctx, "c2"), "hosts"))).toBe(false);
    } finally {
      rmSync(runtimeDir, { recursive: true, force: true });
    }
  });

  test("an id that is no name is refused before it becomes a path", () => {
    expect(() => etcFilesDir({ runtimeDir: "/tmp" }, "../x")).toThrow(UsageError);
  });
});

describe("hostEtcFor", () => {
  test("a container joining ip netns's NAME by path gets /etc/netns/NAME/resolv.conf as the host's, as podman (e2e: user created network namespace with resolv.conf)", () => {
    const dir = mkdtempSync(join(tmpdir(), "ctrnet-netns-etc-"));
    try {
      const joined = (path: string) => newContainerRecord({ id: "j", mode: { kind: "ns", path } });
      mkdirSync(join(dir, "xxx2"));
      writeFileSync(join(dir, "xxx2", "resolv.conf"), "nameserver 11.11.11.11\n");
      expect(hostEtcFor(joined("/run/netns/xxx2"), dir).resolvConf.nameservers).toEqual(["11.11.11.11"]);
      // none kept for that name, a /proc path, another mode: the host's own
      const host = hostEtcFor(newContainerRecord({ id: "h", mode: { kind: "none" } }), dir).resolvConf;
      expect(hostEtcFor(joined("/run/netns/other"), dir).resolvConf).toEqual(host);
      expect(hostEtcFor(joined("/proc/1/ns/net"), dir).resolvConf).toEqual(host);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
