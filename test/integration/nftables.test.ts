// src/netlink/nftables against the kernel, with nft's JSON listing as the oracle. Runs as root inside the
// runner's private namespaces; every test makes its own network namespaces and removes them in `finally`,
// which removes their rulesets with them.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { Netlink } from "../../src/netlink/index.ts";
import * as nf from "../../src/netlink/nftables/index.ts";
import { openNetns } from "../../src/netns/index.ts";
import { leaksBetween, snapshot } from "../helpers/leaks.ts";
import { withNetns } from "../helpers/netns.ts";

if (process.getuid?.() !== 0 || process.env.CTRNET_TEST_PRIVATE !== "1") {
  throw new Error("run through `bun scripts/test.ts integration`: needs root inside a private network namespace");
}

let counter = 0;

function run(cmd: string[], stdin?: string): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", stdin: stdin === undefined ? "ignore" : Buffer.from(stdin) });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${r.exitCode}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

interface Ns {
  name: string;
  path: string;
}

/** `count` fresh namespaces with loopback up, removed (with everything in them) afterwards. */
async function withNamespaces(count: number, fn: (...ns: Ns[]) => Promise<void> | void): Promise<void> {
  const made: Ns[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `nft-${process.pid}-${++counter}`;
      run(["ip", "netns", "add", name]);
      made.push({ name, path: `/run/netns/${name}` });
      run(["ip", "-n", name, "link", "set", "lo", "up"]);
    }
    await fn(...made);
  } finally {
    for (const ns of made) run(["ip", "netns", "del", ns.name]);
  }
}

function nft(ns: Ns, ...args: string[]): string {
  return run(["ip", "netns", "exec", ns.name, "nft", ...args]);
}

type Json = Record<string, unknown>;

/** `nft -j list ...` without the metainfo, handles and counters' values: what two equal rulesets share. */
function listing(ns: Ns, ...what: string[]): Json[] {
  const out = JSON.parse(nft(ns, "-j", "list", ...what)) as { nftables: Json[] };
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    return Object.fromEntries(Object.entries(v as Json).filter(([k]) => k !== "handle").map(([k, x]) => [k, strip(x)]));
  };
  return out.nftables.filter((o) => !("metainfo" in o)).map((o) => strip(o) as Json);
}

const T = { family: "inet" as const, table: "ctrnet" };
const DNAT = { family: "inet" as const, table: "ctrnet", name: "dnat4" };
const PORTS = { family: "inet" as const, table: "ctrnet", name: "ports" };
const V = nf.REG_VERDICT;
const R1 = nf.REG_1;

const nfprotoIs = (family: "ip" | "ip6"): nf.Expr[] => [
  { type: "meta", key: "nfproto", dreg: R1 },
  { type: "cmp", sreg: R1, op: "eq", data: Uint8Array.of(nf.NFPROTO[family]) },
];

/** `ip saddr|daddr [!=] a.b.c.d/len` for a prefix length that is a multiple of 8, as nft compiles it. */
function ipPrefix(field: "saddr" | "daddr", cidr: string, op: "eq" | "neq" = "eq"): nf.Expr[] {
  const [address, length] = cidr.split("/") as [string, string];
  const bytes = Number(length) / 8;
  const [base, offset] = nf.FIELDS.ip[field];
  return [
    { type: "payload", base, offset, len: bytes, dreg: R1 },
    { type: "cmp", sreg: R1, op, data: nf.ipv4(address).subarray(0, bytes) },
  ];
}

const accept: nf.Expr = { type: "immediate", dreg: V, data: { kind: "accept" } };

/**
 * A ruleset like the one the bridge driver will keep: masquerade per subnet, DNAT through a map keyed by
 * `ip daddr . meta l4proto . th dport`, an interval set of ports, ct mark save and restore in a route chain,
 * forward accepts, and a jump to a regular chain.
 */
function buildRealistic(c: nf.Nftables): void {
  c.addTable({ family: "inet", name: "ctrnet" });
  const dnatId = c.addSet({
    ...DNAT,
    key: nf.concatType(nf.TYPES.ipv4_addr, nf.TYPES.inet_proto, nf.TYPES.inet_service),
    data: nf.concatType(nf.TYPES.ipv4_addr, nf.TYPES.inet_service),
  });
  c.addSet({ ...PORTS, key: nf.TYPES.inet_service, flags: ["interval"] });
  c.addElements(DNAT, [
    {
      key: nf.concat(nf.ipv4("10.0.0.1"), nf.inetProto("tcp"), nf.inetService(8080)),
      data: nf.concat(nf.ipv4("10.88.0.2"), nf.inetService(80)),
    },
  ]);
  c.addElements(PORTS, [
    ...nf.intervalElements(nf.inetService(8000), nf.inetService(8099)),
    ...nf.intervalElements(nf.inetService(9000), nf.inetService(9000)),
  ]);
  c.addChain({ ...T, name: "prerouting", base: { type: "nat", hook: "prerouting", priority: -100, policy: "accept" } });
  c.addChain({ ...T, name: "postrouting", base: { type: "nat", hook: "postrouting", priority: 100, policy: "accept" } });
  c.addChain({ ...T, name: "ctmark", base: { type: "route", hook: "output", priority: -150, policy: "accept" } });
  c.addChain({ ...T, name: "forward", base: { type: "filter", hook: "forward", priority: 0, policy: "accept" } });
  c.addChain({ ...T, name: "isolate" });

  // fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @dnat4
  c.appendRule({
    ...T,
    chain: "prerouting",
    exprs: [
      { type: "fib", flags: nf.FIB_FLAGS.daddr, result: "addrtype", dreg: R1 },
      { type: "cmp", sreg: R1, op: "eq", data: nf.hostU32(nf.RTN.local) },
      ...nfprotoIs("ip"),
      nf.load(nf.FIELDS.ip.daddr, R1),
      { type: "meta", key: "l4proto", dreg: nf.reg32(1) },
      nf.load(nf.FIELDS.th.dport, nf.reg32(2)),
      // by id as well as by name, as nft refers to a set made in the same batch
      { type: "lookup", set: "dnat4", setId: dnatId, sreg: R1, dreg: R1 },
      { type: "nat", nat: "dnat", family: "ip", regAddrMin: R1, regProtoMin: nf.reg32(1) },
    ],
  });
  // ip saddr SUBNET ip daddr != SUBNET masquerade comment "NETWORK"
  for (const [subnet, network] of [
    ["10.88.0.0/16", "podman"],
    ["10.89.1.0/24", "net1"],
  ] as const) {
    c.appendRule({
      ...T,
      chain: "postrouting",
      comment: network,
      exprs: [...nfprotoIs("ip"), ...ipPrefix("saddr", subnet), ...ipPrefix("daddr", subnet, "neq"), { type: "masq" }],
    });
  }
  // meta mark 1 ct mark set meta mark
  c.appendRule({
    ...T,
    chain: "ctmark",
    exprs: [
      { type: "meta", key: "mark", dreg: R1 },
      { type: "cmp", sreg: R1, op: "eq", data: nf.hostU32(1) },
      { type: "meta", key: "mark", dreg: R1 },
      { type: "ct", key: "mark", sreg: R1 },
    ],
  });
  // ct direction reply ct mark 1 meta mark set ct mark
  c.appendRule({
    ...T,
    chain: "ctmark",
    exprs: [
      { type: "ct", key: "direction", dreg: R1 },
      { type: "cmp", sreg: R1, op: "eq", data: Uint8Array.of(nf.CT_DIRECTION.reply) },
      { type: "ct", key: "mark", dreg: R1 },
      { type: "cmp", sreg: R1, op: "eq", data: nf.hostU32(1) },
      { type: "ct", key: "mark", dreg: R1 },
      { type: "meta", key: "mark", sreg: R1 },
    ],
  });
  // ct state established,related accept
  c.appendRule({
    ...T,
    chain: "forward",
    exprs: [
      { type: "ct", key: "state", dreg: R1 },
      {
        type: "bitwise",
        sreg: R1,
        dreg: R1,
        len: 4,
        mask: nf.hostU32(nf.CT_STATE.established | nf.CT_STATE.related),
        xor: nf.hostU32(0),
      },
      { type: "cmp", sreg: R1, op: "neq", data: nf.hostU32(0) },
      accept,
    ],
  });
  // iifname "ctrnet0" jump isolate
  c.appendRule({
    ...T,
    chain: "forward",
    exprs: [
      { type: "meta", key: "iifname", dreg: R1 },
      { type: "cmp", sreg: R1, op: "eq", data: nf.ifname("ctrnet0") },
      { type: "immediate", dreg: V, data: { kind: "jump", chain: "isolate" } },
    ],
  });
  // ip daddr 10.88.0.0/16 tcp dport @ports counter accept
  c.appendRule({
    ...T,
    chain: "forward",
    exprs: [
      ...nfprotoIs("ip"),
      ...ipPrefix("daddr", "10.88.0.0/16"),
      { type: "meta", key: "l4proto", dreg: R1 },
      { type: "cmp", sreg: R1, op: "eq", data: nf.inetProto("tcp") },
      nf.load(nf.FIELDS.th.dport, R1),
      { type: "lookup", set: "ports", sreg: R1 },
      { type: "counter" },
      accept,
    ],
  });
  // oifname "ctrnet1" drop
  c.appendRule({
    ...T,
    chain: "isolate",
    exprs: [
      { type: "meta", key: "oifname", dreg: R1 },
      { type: "cmp", sreg: R1, op: "eq", data: nf.ifname("ctrnet1") },
      { type: "immediate", dreg: V, data: { kind: "drop" } },
    ],
  });
}

/** The same ruleset, as an nft script. */
const REALISTIC_NFT = `
table inet ctrnet {
  map dnat4 { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; elements = { 10.0.0.1 . tcp . 8080 : 10.88.0.2 . 80 } }
  set ports { type inet_service; flags interval; elements = { 8000-8099, 9000 } }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local dnat ip to ip daddr . meta l4proto . th dport map @dnat4
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 masquerade comment "podman"
    ip saddr 10.89.1.0/24 ip daddr != 10.89.1.0/24 masquerade comment "net1"
  }
  chain ctmark {
    type route hook output priority mangle; policy accept;
    meta mark 1 ct mark set meta mark
    ct direction reply ct mark 1 meta mark set ct mark
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    iifname "ctrnet0" jump isolate
    ip daddr 10.88.0.0/16 tcp dport @ports counter accept
  }
  chain isolate {
    oifname "ctrnet1" drop
  }
}
`;

describe("a realistic table built through the client", () => {
  test("lists in nft exactly as the same ruleset written by nft itself", async () => {
    await withNamespaces(2, (mine, theirs) => {
      using c = nf.Nftables.open({ netns: mine.path });
      buildRealistic(c);
      expect(c.pending).toBe(19);
      c.commit();
      expect(c.pending).toBe(0);
      run(["ip", "netns", "exec", theirs.name, "nft", "-f", "-"], REALISTIC_NFT);
      const expected = listing(theirs, "ruleset");
      expect(expected.length).toBeGreaterThan(10);
      expect(listing(mine, "ruleset")).toEqual(expected);
    });
  });

  test("reads back as typed objects: tables, chains, sets, elements, rules", async () => {
    await withNamespaces(1, (ns) => {
      using c = nf.Nftables.open({ netns: ns.path });
      buildRealistic(c);
      c.commit();

      expect(c.tables()).toEqual([{ family: "inet", name: "ctrnet", flags: 0, handle: expect.any(BigInt), use: 7 }]);
      const chains = c.chains({ family: "inet", table: "ctrnet" });
      expect(chains.map((ch) => [ch.name, ch.base?.type, ch.base?.hook, ch.base?.priority, ch.base?.policy])).toEqual([
        ["prerouting", "nat", "prerouting", -100, "accept"],
        ["postrouting", "nat", "postrouting", 100, "accept"],
        ["ctmark", "route", "output", -150, "accept"],
        ["forward", "filter", "forward", 0, "accept"],
        ["isolate", undefined, undefined, undefined, undefined],
      ]);
      const sets = c.sets({ family: "inet", table: "ctrnet" });
      expect(sets.map((s) => [s.name, s.flags, s.keyType, s.keyLen, s.dataType, s.dataLen])).toEqual([
        ["dnat4", ["map"], 0x730d, 12, 0x1cd, 8],
        ["ports", ["interval"], 13, 2, undefined, undefined],
      ]);
      expect(c.elements(DNAT)).toEqual([
        {
          key: nf.concat(nf.ipv4("10.0.0.1"), nf.inetProto("tcp"), nf.inetService(8080)),
          data: nf.concat(nf.ipv4("10.88.0.2"), nf.inetService(80)),
        },
      ]);
      const ports = c.elements(PORTS).map((e) => [Buffer.from(e.key).readUInt16BE(0), e.intervalEnd ?? false]);
      expect(ports.sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
        [8000, false],
        [8100, true],
        [9000, false],
        [9001, true],
      ]);

      const rules = c.rules({ family: "inet", table: "ctrnet", chain: "postrouting" });
      expect(rules.map((r) => r.comment)).toEqual(["podman", "net1"]);
      expect(rules[0]!.exprs.at(-1)).toEqual({ type: "masq" });
      const forward = c.rules({ family: "inet", table: "ctrnet", chain: "forward" });
      // the kernel adds the counter's values to a dumped counter
      expect(forward[2]!.exprs.find((e) => e.type === "counter")).toEqual({ type: "counter", bytes: 0n, packets: 0n });
      expect(c.rules({ family: "inet", table: "ctrnet" })).toHaveLength(9);
    });
  });

  test("rules go where their position says, and are deleted by handle", async () => {
    await withNamespaces(1, (ns) => {
      using c = nf.Nftables.open({ netns: ns.path });
      c.addTable({ family: "ip", name: "t" });
      c.addChain({ family: "ip", table: "t", name: "c" });
      const markRule = (n: number): nf.RuleSpec => ({
        family: "ip",
        table: "t",
        chain: "c",
        comment: `r${n}`,
        exprs: [{ type: "immediate", dreg: R1, data: nf.hostU32(n) }, { type: "meta", key: "mark", sreg: R1 }],
      });
      c.appendRule(markRule(1));
      c.appendRule(markRule(3));
      c.commit();
      const order = () => c.rules({ family: "ip", table: "t", chain: "c" }).map((r) => r.comment);
      const handle = (comment: string) => c.rules({ family: "ip", table: "t" }).find((r) => r.comment === comment)!.handle;
      c.appendRule(markRule(2), handle("r1"));
      c.insertRule(markRule(0));
      c.commit();
      expect(order()).toEqual(["r0", "r1", "r2", "r3"]);
      c.insertRule(markRule(4), handle("r3"));
      c.commit();
      expect(order()).toEqual(["r0", "r1", "r2", "r4", "r3"]);
      c.deleteRule({ family: "ip", table: "t", chain: "c", handle: handle("r2") });
      c.commit();
      expect(order()).toEqual(["r0", "r1", "r4", "r3"]);
      expect(nft(ns, "list", "chain", "ip", "t", "c")).toContain('meta mark set 0x00000004 comment "r4"');
      c.flushChain({ family: "ip", table: "t", name: "c" });
      c.deleteTable({ family: "ip", name: "t" });
      c.commit();
      expect(listing(ns, "ruleset")).toEqual([]);
    });
  });
});

describe("batches are atomic", () => {
  test("a batch with one invalid message changes nothing, and the error names that message", async () => {
    await withNamespaces(1, (ns) => {
      using c = nf.Nftables.open({ netns: ns.path });
      buildRealistic(c);
      c.commit();
      const before = nft(ns, "-j", "list", "ruleset");
      const generation = c.generation();

      c.addChain({ ...T, name: "extra" });
      c.addElements(PORTS, nf.intervalElements(nf.inetService(7000), nf.inetService(7001)));
      c.deleteElements(DNAT, [{ key: nf.concat(nf.ipv4("10.0.0.1"), nf.inetProto("tcp"), nf.inetService(8080)) }]);
      c.appendRule({ ...T, chain: "forward", exprs: [{ type: "immediate", dreg: V, data: { kind: "jump", chain: "missing" } }] });
      c.deleteTable({ family: "inet", name: "other" });
      let err: unknown;
      try {
        c.commit();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(nf.NftBatchError);
      const e = err as nf.NftBatchError;
      expect(e.code).toBe("ENOENT");
      expect(e.messageType).toBe("NFT_MSG_NEWRULE");
      expect(e.message).toStartWith("netlink: append rule in inet ctrnet forward (NFT_MSG_NEWRULE): no such file or directory (ENOENT)");
      expect(e.failures.map((f) => f.messageType)).toEqual(["NFT_MSG_NEWRULE", "NFT_MSG_DELTABLE"]);
      expect(c.pending).toBe(0);
      expect(nft(ns, "-j", "list", "ruleset")).toBe(before);
      expect(c.generation()).toBe(generation);
    });
  });

  test("a batch for a generation that has passed is refused (ERESTART); for the current one it applies", async () => {
    await withNamespaces(1, (ns) => {
      using c = nf.Nftables.open({ netns: ns.path });
      c.addTable({ family: "inet", name: "g" });
      c.commit();
      const seen = c.generation();
      nft(ns, "add", "table", "inet", "someone-else");
      c.addChain({ family: "inet", table: "g", name: "c" });
      expect(() => c.commit({ generation: seen })).toThrow(/NFNL_MSG_BATCH_BEGIN.*ERESTART/);
      expect(c.chains({ table: "g" })).toEqual([]);
      c.addChain({ family: "inet", table: "g", name: "c" });
      c.commit({ generation: c.generation() });
      expect(c.chains({ table: "g" }).map((ch) => ch.name)).toEqual(["c"]);
    });
  });
});

describe("set elements", () => {
  test("added and deleted elements are what nft lists; flush empties the set", async () => {
    await withNamespaces(1, (ns) => {
      using c = nf.Nftables.open({ netns: ns.path });
      buildRealistic(c);
      c.commit();
      const key = (port: number) => nf.concat(nf.ipv4("10.0.0.1"), nf.inetProto("udp"), nf.inetService(port));
      c.addElements(DNAT, [
        { key: key(53), data: nf.concat(nf.ipv4("10.88.0.3"), nf.inetService(5353)) },
        { key: key(54), data: nf.concat(nf.ipv4("10.88.0.4"), nf.inetService(54)) },
      ]);
      c.commit();
      // nft lists a hash set's elements in the kernel's order
      const elements = () =>
        (listing(ns, "map", "inet", "ctrnet", "dnat4")[0]!.map as { elem?: unknown[] }).elem?.sort((a, b) =>
          JSON.stringify(a).localeCompare(JSON.stringify(b)),
        );
      expect(elements()).toEqual([
        [{ concat: ["10.0.0.1", "tcp", 8080] }, { concat: ["10.88.0.2", 80] }],
        [{ concat: ["10.0.0.1", "udp", 53] }, { concat: ["10.88.0.3", 5353] }],
        [{ concat: ["10.0.0.1", "udp", 54] }, { concat: ["10.88.0.4", 54] }],
      ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))));
      c.deleteElements(DNAT, [{ key: key(53) }]);
      c.commit();
      expect(elements()).toHaveLength(2);
      expect(JSON.stringify(elements())).not.toContain("5353");

      c.addElements(PORTS, nf.intervalElements(nf.inetService(10000), nf.inetService(10010)));
      c.commit();
      expect((listing(ns, "set", "inet", "ctrnet", "ports")[0]!.set as { elem: unknown[] }).elem).toEqual([
        { range: [8000, 8099] },
        9000,
        { range: [10000, 10010] },
      ]);
      c.deleteElements(PORTS, nf.intervalElements(nf.inetService(8000), nf.inetService(8099)));
      c.commit();
      expect((listing(ns, "set", "inet", "ctrnet", "ports")[0]!.set as { elem: unknown[] }).elem).toEqual([9000, { range: [10000, 10010] }]);

      c.flushSet(DNAT);
      c.commit();
      expect(elements()).toBeUndefined();
      expect(c.elements(DNAT)).toEqual([]);
    });
  });

  test("timeout and constant sets: their flags, default and per-element timeouts are what nft lists", async () => {
    await withNamespaces(1, (ns) => {
      using c = nf.Nftables.open({ netns: ns.path });
      c.addTable({ family: "ip", name: "t" });
      const seen = { family: "ip" as const, table: "t", name: "seen" };
      c.addSet({ ...seen, key: nf.TYPES.ipv4_addr, flags: ["timeout"], timeoutMs: 120_000 });
      c.addElements(seen, [{ key: nf.ipv4("10.1.1.1") }, { key: nf.ipv4("10.1.1.2"), timeoutMs: 30_000 }]);
      const fixed = { family: "ip" as const, table: "t", name: "fixed" };
      c.addSet({ ...fixed, key: nf.TYPES.mark, flags: ["constant"] });
      c.addElements(fixed, [{ key: nf.hostU32(7) }]);
      c.commit();
      const sets = listing(ns, "ruleset").flatMap((o) => (o.set ? [o.set as Json] : []));
      const byName = new Map(sets.map((s) => [s.name, s]));
      expect(byName.get("seen")).toMatchObject({ type: "ipv4_addr", flags: ["timeout"], timeout: 120 });
      const elems = (byName.get("seen")!.elem as { elem: { val: string; timeout?: number } }[]).map((e) => [e.elem.val, e.elem.timeout]);
      expect(elems.sort()).toEqual([
        ["10.1.1.1", undefined],
        ["10.1.1.2", 30],
      ]);
      expect(byName.get("fixed")).toMatchObject({ type: "mark", flags: ["constant"], elem: [7] });
      expect(c.sets({ table: "t" }).map((s) => [s.name, s.flags, s.timeoutMs])).toEqual([
        ["seen", ["timeout"], 120_000],
        ["fixed", ["constant"], undefined],
      ]);
      const [first] = c.elements(seen).filter((e) => e.timeoutMs === 30_000);
      expect(first!.expiresMs).toBeGreaterThan(0);
    });
  });

  test("an element that exists is refused; one that does not cannot be deleted", async () => {
    await withNamespaces(1, (ns) => {
      using c = nf.Nftables.open({ netns: ns.path });
      buildRealistic(c);
      c.commit();
      c.addElements(PORTS, [{ key: nf.inetService(9000) }]);
      expect(() => c.commit()).toThrow(/add set inet ctrnet ports element \(NFT_MSG_NEWSETELEM\).*EEXIST/);
      c.deleteElements(PORTS, [{ key: nf.inetService(1) }]);
      expect(() => c.commit()).toThrow(/NFT_MSG_DELSETELEM.*ENOENT/);
    });
  });
});

describe("DNAT through the map carries a real connection", () => {
  test("a TCP client in one namespace reaches a server in another through the router's map, keeping its address", async () => {
    // client (10.77.1.2) --veth-- router (10.77.1.1 | 10.77.2.1) --veth-- server (10.77.2.2)
    await withNamespaces(3, async (client, router, server) => {
      using r = Netlink.open({ netns: router.path });
      for (const [name, peer, ns] of [
        ["rc", "c0", client],
        ["rs", "s0", server],
      ] as const) {
        const fd = openNetns(ns.path);
        try {
          r.linkAdd({ kind: "veth", name, peer: { name: peer, netnsFd: fd } });
        } finally {
          libc.close(fd);
        }
      }
      r.addressAdd("rc", "10.77.1.1/24");
      r.addressAdd("rs", "10.77.2.1/24");
      r.linkSet("rc", { up: true });
      r.linkSet("rs", { up: true });
      for (const [ns, link, cidr, gateway] of [
        [client, "c0", "10.77.1.2/24", "10.77.1.1"],
        [server, "s0", "10.77.2.2/24", "10.77.2.1"],
      ] as const) {
        using nl = Netlink.open({ netns: ns.path });
        nl.addressAdd(link, cidr);
        nl.linkSet(link, { up: true });
        nl.routeAdd({ dst: "default", gateway });
      }
      run(["ip", "netns", "exec", router.name, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);

      using c = nf.Nftables.open({ netns: router.path });
      buildRealistic(c);
      c.addElements(DNAT, [
        {
          key: nf.concat(nf.ipv4("10.77.1.1"), nf.inetProto("tcp"), nf.inetService(8080)),
          data: nf.concat(nf.ipv4("10.77.2.2"), nf.inetService(9999)),
        },
      ]);
      c.commit();

      // The server answers each connection with the address it came from.
      const listener = withNetns(server.path, () =>
        Bun.listen({
          hostname: "10.77.2.2",
          port: 9999,
          socket: {
            open(s) {
              s.end(`${s.remoteAddress}\n`);
            },
            data() {},
          },
        }),
      );
      try {
        const curl = Bun.spawn(["ip", "netns", "exec", client.name, "socat", "-T", "5", "-", "TCP:10.77.1.1:8080"], {
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        });
        const [out, err, code] = await Promise.all([new Response(curl.stdout).text(), new Response(curl.stderr).text(), curl.exited]);
        expect({ out, err, code }).toEqual({ out: "10.77.1.2\n", err: "", code: 0 });

        // Without the element, nothing listens on the router's port 8080: refused.
        c.deleteElements(DNAT, [{ key: nf.concat(nf.ipv4("10.77.1.1"), nf.inetProto("tcp"), nf.inetService(8080)) }]);
        c.commit();
        const again = Bun.spawn(["ip", "netns", "exec", client.name, "socat", "-T", "5", "-", "TCP:10.77.1.1:8080"], {
          stdin: "ignore",
          stdout: "pipe",
          stderr: "pipe",
        });
        expect(await again.exited).not.toBe(0);
      } finally {
        listener.stop(true);
      }
    });
  });
});

describe("change notifications", () => {
  test("changes made by nft arrive as typed events, each batch closed by its generation", async () => {
    await withNamespaces(1, async (ns) => {
      using monitor = nf.NftMonitor.open({ netns: ns.path });
      const dir = mkdtempSync(join(tmpdir(), "nft-monitor-"));
      try {
        const script = join(dir, "rules.nft");
        writeFileSync(
          script,
          `add table inet w
add chain inet w c { type filter hook input priority 0; }
add set inet w s { type inet_service; }
add element inet w s { 22, 80 }
add rule inet w c tcp dport @s accept comment "watched"
`,
        );
        nft(ns, "-f", script);
        nft(ns, "delete", "element", "inet", "w", "s", "{ 22 }");
        nft(ns, "delete", "table", "inet", "w");
        const events: nf.NftEvent[] = [];
        const deadline = Date.now() + 10_000;
        while (events.filter((e) => e.kind === "generation").length < 3 && Date.now() < deadline) {
          events.push(...monitor.poll());
          await Bun.sleep(20);
        }
        const summary = events.map((e) => {
          switch (e.kind) {
            case "table":
              return `${e.op} table ${e.table.name}`;
            case "chain":
              return `${e.op} chain ${e.chain.name} ${e.chain.base?.hook}`;
            case "set":
              return `${e.op} set ${e.set.name}`;
            case "element":
              return `${e.op} elements ${e.set.name} ${e.elements.map((x) => Buffer.from(x.key).readUInt16BE(0)).join(",")}`;
            case "rule":
              return `${e.op} rule ${e.rule.chain} ${e.rule.comment} ${e.rule.exprs.map((x) => x.type).join(",")}`;
            case "generation":
              return "generation";
            case "overrun":
              return "overrun";
          }
        });
        // the kernel announces each element in its own message
        expect(summary.slice(0, 9)).toEqual([
          "new table w",
          "new chain c input",
          "new set s",
          "new elements s 22",
          "new elements s 80",
          "new rule c watched meta,cmp,payload,lookup,immediate",
          "generation",
          "del elements s 22",
          "generation",
        ]);
        expect(summary).toContain("del table w");
        expect(summary.at(-1)).toBe("generation");
        const gens = events.filter((e): e is Extract<nf.NftEvent, { kind: "generation" }> => e.kind === "generation");
        expect(gens[1]!.id).toBe(gens[0]!.id + 1);
        expect(gens[0]!.process).toBe("nft");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  test("events() yields as changes come and ends when aborted", async () => {
    await withNamespaces(1, async (ns) => {
      using monitor = nf.NftMonitor.open({ netns: ns.path });
      using c = nf.Nftables.open({ netns: ns.path });
      const abort = new AbortController();
      const seen: string[] = [];
      const reading = (async () => {
        // the timeout bounds a broken run; it is not a timing assertion
        for await (const e of monitor.events(AbortSignal.any([abort.signal, AbortSignal.timeout(10_000)]), 10)) {
          seen.push(e.kind);
          if (e.kind === "generation") abort.abort();
        }
      })();
      c.addTable({ family: "ip", name: "x" });
      c.commit();
      await reading;
      expect(seen).toEqual(["table", "generation"]);
      c.deleteTable({ family: "ip", name: "x" });
      c.commit();
    });
  });
});

describe("the suite's leak check", () => {
  test("reports the tables, chains, sets, elements and rules a test leaves, and nothing once they are gone", () => {
    const before = snapshot();
    using c = nf.Nftables.open();
    try {
      c.addTable({ family: "inet", name: "leaky" });
      c.addChain({ family: "inet", table: "leaky", name: "c" });
      c.addSet({ family: "inet", table: "leaky", name: "s", key: nf.TYPES.inet_service });
      c.addElements({ family: "inet", table: "leaky", name: "s" }, [{ key: nf.inetService(80) }]);
      c.appendRule({ family: "inet", table: "leaky", chain: "c", exprs: [{ type: "counter" }] });
      c.commit();
      const leaks = leaksBetween(before, snapshot()).join("\n");
      for (const part of [
        "nft table inet leaky",
        "nft chain inet leaky c",
        "nft set inet leaky s",
        "nft element inet leaky s 0050",
        'nft rule inet leaky c [{"type":"counter"}]',
      ]) {
        expect(leaks).toContain(part);
      }
      // an element alone is a leak too: the table, chain and set are now part of "before"
      const withTable = snapshot();
      c.addElements({ family: "inet", table: "leaky", name: "s" }, [{ key: nf.inetService(443) }]);
      c.commit();
      expect(leaksBetween(withTable, snapshot())).toEqual(["firewall: nft element inet leaky s 01bb"]);
    } finally {
      c.deleteTable({ family: "inet", name: "leaky" });
      c.commit();
    }
    expect(leaksBetween(before, snapshot())).toEqual([]);
  });
});
