// src/netlink against the kernel, with iproute2's JSON output as the oracle. Runs as root inside the
// runner's private network + mount namespace; every test makes its own namespaces and removes them in
// `finally`, which also removes every link inside them.
import { describe, expect, test } from "bun:test";
import * as libc from "../../ffi/libc.ts";
import { isNetlinkError, Netlink, NetlinkError, type Link, type Stats64 } from "../../src/netlink/index.ts";

if (process.getuid?.() !== 0 || process.env.CTRNET_TEST_PRIVATE !== "1") {
  throw new Error("run through `bun scripts/test.ts integration`: needs root inside a private network namespace");
}

let counter = 0;

function run(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

function ipJson<T = Record<string, unknown>[]>(ns: string, ...args: string[]): T {
  return JSON.parse(run(["ip", "-n", ns, "-j", ...args])) as T;
}

interface Namespace {
  name: string;
  path: string;
  fd: number;
  nl: Netlink;
}

/** Two fresh namespaces with loopback up, each with a Netlink socket opened inside it; removed afterwards. */
function withNamespaces(fn: (a: Namespace, b: Namespace) => void): void {
  const made: Namespace[] = [];
  try {
    for (const side of ["a", "b"]) {
      const name = `nlt-${process.pid}-${++counter}-${side}`;
      run(["ip", "netns", "add", name]);
      const path = `/run/netns/${name}`;
      const ns: Namespace = { name, path, fd: -1, nl: undefined as unknown as Netlink };
      made.push(ns);
      ns.fd = libc.open(path, libc.O_RDONLY);
      // One socket opened by path, the other by fd: both forms of the netns option are exercised.
      ns.nl = Netlink.open({ netns: side === "a" ? path : ns.fd });
      ns.nl.linkSet("lo", { up: true });
    }
    fn(made[0]!, made[1]!);
  } finally {
    for (const ns of made) {
      ns.nl?.close();
      if (ns.fd >= 0) libc.close(ns.fd);
      run(["ip", "netns", "del", ns.name]);
    }
  }
}

/** A veth pair va (in a) <-> vb (in b), addressed and up. */
function connect(a: Namespace, b: Namespace): void {
  a.nl.linkAdd({ kind: "veth", name: "va", peer: { name: "vb", netnsFd: b.fd } });
  a.nl.addressAdd("va", "10.123.0.1/24", { broadcast: "10.123.0.255" });
  b.nl.addressAdd("vb", "10.123.0.2/24");
  a.nl.addressAdd("va", "fd12::1/64", { noDad: true });
  b.nl.addressAdd("vb", "fd12::2/64", { noDad: true });
  a.nl.linkSet("va", { up: true });
  b.nl.linkSet("vb", { up: true });
}

/** One echo answered, out of up to three tries: the first IPv6 one can be lost to neighbour discovery. */
function ping(from: Namespace, address: string): void {
  run(["ip", "netns", "exec", from.name, "busybox", "ping", "-c", "3", "-w", "6", "-A", address]);
}

function sameCounters(x: Stats64, y: Stats64): boolean {
  return (Object.keys(x) as (keyof Stats64)[]).every((k) => x[k] === y[k]);
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}

interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate: string;
  address?: string;
  master?: string;
  link?: string;
  link_index?: number;
  link_netnsid?: number;
}

function comparableLinks(links: Link[]) {
  const byIndex = new Map(links.map((l) => [l.index, l.name]));
  return links
    .map((l) => ({
      index: l.index,
      name: l.name,
      up: l.up,
      mtu: l.mtu,
      operState: l.operState,
      mac: l.mac,
      master: l.master === undefined ? undefined : byIndex.get(l.master),
      parentIndex: l.parentIndex,
      linkNetnsid: l.linkNetnsid,
    }))
    .sort((x, y) => x.index - y.index);
}

function ipLinks(ns: string) {
  const links = ipJson<IpLink[]>(ns, "link", "show");
  const indexOf = new Map(links.map((l) => [l.ifname, l.ifindex]));
  return links
    .map((l) => ({
      index: l.ifindex,
      name: l.ifname,
      up: l.flags.includes("UP"),
      mtu: l.mtu,
      operState: l.operstate,
      mac: l.address,
      master: l.master,
      // iproute2 names the parent when it is in the same namespace, and gives its index otherwise
      parentIndex: l.link_index ?? (l.link === undefined ? undefined : indexOf.get(l.link)),
      linkNetnsid: l.link_netnsid,
    }))
    .sort((x, y) => x.index - y.index);
}

describe("a veth pair between two namespaces", () => {
  test("carries traffic, and links, addresses and routes read back as iproute2 shows them", () => {
    withNamespaces((a, b) => {
      connect(a, b);
      b.nl.routeAdd({ dst: "default", gateway: "10.123.0.1" });
      a.nl.routeAdd({ dst: "10.200.0.0/16", gateway: "10.123.0.2", metric: 20 });
      a.nl.routeAdd({ dst: "10.201.0.7/32", dev: "va" });
      a.nl.routeAdd({ dst: "fd99::/64", gateway: "fd12::2" });

      ping(a, "10.123.0.2");
      ping(b, "10.123.0.1");
      ping(a, "fd12::2");

      for (const ns of [a, b]) {
        expect(comparableLinks(ns.nl.links())).toEqual(ipLinks(ns.name));

        const ours = ns.nl
          .addresses()
          .map((x) => ({ index: x.index, family: x.family as number, local: x.address, prefixlen: x.prefixLength, broadcast: x.broadcast }))
          .sort((x, y) => x.index - y.index || x.local.localeCompare(y.local));
        const theirs = ipJson<{ ifindex: number; addr_info: { family: string; local: string; prefixlen: number; broadcast?: string }[] }[]>(
          ns.name,
          "addr",
          "show",
        )
          .flatMap((l) =>
            l.addr_info.map((x) => ({
              index: l.ifindex,
              family: x.family === "inet" ? 4 : 6,
              local: x.local,
              prefixlen: x.prefixlen,
              broadcast: x.broadcast,
            })),
          )
          .sort((x, y) => x.index - y.index || x.local.localeCompare(y.local));
        expect(ours).toEqual(theirs);

        for (const family of [4, 6] as const) {
          const names = new Map(ns.nl.links().map((l) => [l.index, l.name]));
          const routes = ns.nl
            .routes({ family })
            .map((r) => ({ dst: r.dst, gateway: r.gateway, dev: r.oif === undefined ? undefined : names.get(r.oif) }))
            .sort((x, y) => `${x.dst}${x.dev}`.localeCompare(`${y.dst}${y.dev}`));
          const host = family === 4 ? "/32" : "/128";
          const ipRoutes = ipJson<{ dst: string; gateway?: string; dev?: string }[]>(ns.name, `-${family}`, "route", "show")
            .map((r) => ({ dst: r.dst === "default" || r.dst.includes("/") ? r.dst : `${r.dst}${host}`, gateway: r.gateway, dev: r.dev }))
            .sort((x, y) => `${x.dst}${x.dev}`.localeCompare(`${y.dst}${y.dev}`));
          expect(routes).toEqual(ipRoutes);
        }
      }

      const routesA = a.nl.routes({ family: 4 });
      expect(routesA.find((r) => r.dst === "10.200.0.0/16")).toMatchObject({ gateway: "10.123.0.2", priority: 20, table: 254 });
      expect(b.nl.routes({ family: 4 }).find((r) => r.dst === "default")).toMatchObject({ gateway: "10.123.0.1", family: 4 });
    });
  });

  test("IFLA_STATS64 counters match `ip -s -s -j link` once traffic has stopped", () => {
    withNamespaces((a, b) => {
      connect(a, b);
      ping(a, "10.123.0.2");
      ping(a, "fd12::2");

      const ours = a.nl.linkStats("va");
      expect(ours.txPackets).toBeGreaterThan(0n);
      expect(ours.rxPackets).toBeGreaterThan(0n);
      expect(Object.values(ours).every((v) => typeof v === "bigint")).toBe(true);

      // The kernel still sends a little by itself on a fresh link (IPv6 router solicitations, MLD reports):
      // compare only a reading that did not change while iproute2 took its own.
      const names: Record<string, Record<string, keyof Stats64>> = {
        rx: {
          bytes: "rxBytes",
          packets: "rxPackets",
          errors: "rxErrors",
          dropped: "rxDropped",
          over_errors: "rxOverErrors",
          multicast: "multicast",
          length_errors: "rxLengthErrors",
          crc_errors: "rxCrcErrors",
          frame_errors: "rxFrameErrors",
          fifo_errors: "rxFifoErrors",
          missed_errors: "rxMissedErrors",
          compressed: "rxCompressed",
          nohandler: "rxNohandler",
          otherhost: "rxOtherhostDropped",
        },
        tx: {
          bytes: "txBytes",
          packets: "txPackets",
          errors: "txErrors",
          dropped: "txDropped",
          carrier_errors: "txCarrierErrors",
          collisions: "collisions",
          aborted_errors: "txAbortedErrors",
          fifo_errors: "txFifoErrors",
          window_errors: "txWindowErrors",
          heartbeat_errors: "txHeartbeatErrors",
          compressed: "txCompressed",
        },
      };
      let compared = 0;
      for (let attempt = 0; attempt < 50 && compared === 0; attempt++) {
        const before = a.nl.linkStats("va");
        const [link] = ipJson<{ stats64: Record<string, Record<string, number>> }[]>(a.name, "-s", "-s", "link", "show", "va");
        const after = a.nl.linkStats("va");
        if (!sameCounters(before, after)) {
          Bun.sleepSync(100);
          continue;
        }
        for (const [direction, fields] of Object.entries(names)) {
          for (const [ipName, value] of Object.entries(link!.stats64[direction]!)) {
            const ourName = fields[ipName];
            if (ourName === undefined) continue;
            expect({ [`${direction}.${ipName}`]: after[ourName] }).toEqual({ [`${direction}.${ipName}`]: BigInt(value) });
            compared++;
          }
        }
      }
      expect(compared).toBeGreaterThanOrEqual(10);
    });
  });
});

describe("links", () => {
  test("get, set mtu, MAC, up/down, rename, move to another namespace, delete", () => {
    withNamespaces((a, b) => {
      a.nl.linkAdd({ kind: "veth", name: "v0", mtu: 1400, peer: { name: "v1" } });
      const v0 = a.nl.link("v0");
      expect(v0).toMatchObject({ name: "v0", kind: "veth", mtu: 1400, up: false });
      expect(a.nl.link(v0.index).name).toBe("v0");
      expect(a.nl.link("v1").parentIndex).toBe(v0.index);

      a.nl.linkSet("v0", { mtu: 9000, mac: "02:00:00:aa:bb:cc", up: true });
      let [shown] = ipJson<IpLink[]>(a.name, "link", "show", "v0");
      expect(shown).toMatchObject({ mtu: 9000, address: "02:00:00:aa:bb:cc" });
      expect(shown!.flags).toContain("UP");

      a.nl.linkSet(v0.index, { up: false });
      [shown] = ipJson<IpLink[]>(a.name, "link", "show", "v0");
      expect(shown!.flags).not.toContain("UP");

      a.nl.linkSet("v0", { name: "eth7" });
      expect(a.nl.link(v0.index).name).toBe("eth7");
      expect(isNetlinkError(thrown(() => a.nl.link("v0")), "ENODEV")).toBe(true);

      a.nl.linkSet("v1", { netnsFd: b.fd });
      expect(a.nl.links().map((l) => l.name)).not.toContain("v1");
      expect(ipJson<IpLink[]>(b.name, "link", "show", "v1")[0]).toMatchObject({ ifname: "v1", link_netnsid: 0 });

      // Deleting one end of a veth pair deletes the other, here across namespaces.
      a.nl.linkDelete("eth7");
      expect(a.nl.links().map((l) => l.name)).toEqual(["lo"]);
      expect(b.nl.links().map((l) => l.name)).toEqual(["lo"]);
    });
  });

  test("a bridge, a port enslaved to it and released again", () => {
    withNamespaces((a) => {
      a.nl.linkAdd({ kind: "bridge", name: "br0" });
      a.nl.linkAdd({ kind: "veth", name: "p0", peer: { name: "p1" } });
      const bridge = a.nl.link("br0");
      expect(bridge.kind).toBe("bridge");

      a.nl.linkSet("p0", { master: "br0", up: true });
      expect(a.nl.link("p0").master).toBe(bridge.index);
      expect(comparableLinks(a.nl.links())).toEqual(ipLinks(a.name));

      a.nl.linkSet("p0", { master: null });
      expect(a.nl.link("p0").master).toBeUndefined();
      expect(ipJson<IpLink[]>(a.name, "link", "show", "p0")[0]!.master).toBeUndefined();

      a.nl.linkDelete("p0");
      a.nl.linkDelete(bridge.index);
      expect(a.nl.links().map((l) => l.name)).toEqual(["lo"]);
    });
  });

  test("addresses and routes can be deleted again", () => {
    withNamespaces((a, b) => {
      connect(a, b);
      a.nl.routeAdd({ dst: "10.200.0.0/16", gateway: "10.123.0.2" });
      a.nl.routeDelete({ dst: "10.200.0.0/16" });
      expect(a.nl.routes({ family: 4 }).map((r) => r.dst)).not.toContain("10.200.0.0/16");

      a.nl.addressDelete("va", "fd12::1/64");
      a.nl.addressDelete("va", "10.123.0.1/24");
      expect(a.nl.addresses({ link: "va" }).filter((x) => x.scope === 0)).toEqual([]);
      expect(ipJson<{ addr_info: unknown[] }[]>(a.name, "addr", "show", "scope", "global")[0]?.addr_info ?? []).toEqual([]);
      expect(b.nl.addresses({ link: "vb", family: 4 }).map((x) => x.address)).toEqual(["10.123.0.2"]);
    });
  });
});

describe("policy routing: rules and local routes (a transparent proxy's way back)", () => {
  test("a fwmark rule and a local default route in table 100, both families, as ip lists them; EEXIST the second time at the same priority", () => {
    withNamespaces((a) => {
      for (const family of [4, 6] as const) {
        a.nl.ruleAdd({ family, fwmark: 0x2a, table: 100, priority: 1000 });
        a.nl.routeAdd({ family, type: "local", dst: "default", dev: "lo", table: 100 });
      }
      const rules = ipJson<{ priority: number; fwmark?: string; table: string }[]>(a.name, "rule", "show");
      expect(rules.filter((r) => r.fwmark !== undefined)).toEqual([expect.objectContaining({ priority: 1000, fwmark: "0x2a", table: "100" })]);
      expect(ipJson<{ fwmark?: string }[]>(a.name, "-6", "rule", "show").filter((r) => r.fwmark !== undefined)).toHaveLength(1);
      expect(ipJson(a.name, "-4", "route", "show", "table", "100")).toEqual([
        expect.objectContaining({ type: "local", dst: "default", dev: "lo", scope: "host" }),
      ]);
      expect(ipJson(a.name, "-6", "route", "show", "table", "100")).toEqual([expect.objectContaining({ type: "local", dst: "default", dev: "lo" })]);
      expect(a.nl.rules(4).filter((r) => r.fwmark !== undefined)).toEqual([
        { family: 4, priority: 1000, fwmark: 0x2a, fwmask: 0xffffffff, table: 100, action: 1 },
      ]);
      expect(a.nl.routes({ family: 6, table: 100 })).toEqual([expect.objectContaining({ dst: "default", type: 2, table: 100 })]);

      let err: unknown;
      try {
        a.nl.ruleAdd({ family: 4, fwmark: 0x2a, table: 100, priority: 1000 });
      } catch (e) {
        err = e;
      }
      expect(isNetlinkError(err, "EEXIST")).toBe(true);
      expect((err as Error).message).toContain("add IPv4 rule priority 1000 fwmark 0x2a lookup 100");

      a.nl.ruleDelete({ family: 4, fwmark: 0x2a, table: 100, priority: 1000 });
      expect(a.nl.rules(4).filter((r) => r.fwmark !== undefined)).toEqual([]);
    });
  });
});

describe("kernel errors", () => {
  test("adding a link that exists is EEXIST, named after the operation and the link", () => {
    withNamespaces((a) => {
      a.nl.linkAdd({ kind: "bridge", name: "br0" });
      const err = thrown(() => a.nl.linkAdd({ kind: "bridge", name: "br0" }));
      expect(err).toBeInstanceOf(NetlinkError);
      expect((err as NetlinkError).code).toBe("EEXIST");
      expect((err as NetlinkError).errno).toBe(17);
      expect((err as NetlinkError).message).toBe('netlink: add link "br0": file exists (EEXIST)');
    });
  });

  test("an address that exists is EEXIST with the kernel's extended-ack text", () => {
    withNamespaces((a, b) => {
      connect(a, b);
      const err = thrown(() => a.nl.addressAdd("va", "10.123.0.1/24")) as NetlinkError;
      expect(err.code).toBe("EEXIST");
      expect(err.kernelMessage).toBeString();
      expect(err.kernelMessage!.length).toBeGreaterThan(0);
      expect(err.message).toBe(`netlink: add address 10.123.0.1/24 to link "va": file exists (EEXIST): ${err.kernelMessage}`);
    });
  });

  test("deleting a link that does not exist is ENODEV; the socket still works afterwards", () => {
    withNamespaces((a) => {
      const err = thrown(() => a.nl.linkDelete("missing0")) as NetlinkError;
      expect(err.code).toBe("ENODEV");
      expect(err.message).toBe('netlink: delete link "missing0": no such device (ENODEV)');
      expect(a.nl.links().map((l) => l.name)).toEqual(["lo"]);
    });
  });

  test("an unreachable gateway carries the kernel's message", () => {
    withNamespaces((a) => {
      const err = thrown(() => a.nl.routeAdd({ dst: "10.9.0.0/16", gateway: "10.77.0.2" })) as NetlinkError;
      expect(err.code).toBe("ENETUNREACH");
      expect(err.message).toStartWith("netlink: add route 10.9.0.0/16 via 10.77.0.2: network is unreachable (ENETUNREACH)");
    });
  });
});
