// The rules that bring replies back to a forwarder keeping client addresses (drivers/portfwd/return-path.ts),
// against the kernel with nft's and ip's JSON output and /proc/sys/net as the oracle: made twice, a netns holds
// them once; TCP to the netns's own addresses goes without the table (and so without conntrack).
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { FORWARDER_MARK, REPLY_MARK, REPLY_TABLE, type ReturnTarget, setUpReturnPath } from "../../src/drivers/portfwd/return-path.ts";
import { createNetns, removeNetns, type Netns } from "../../src/netns/index.ts";
import { withNetns } from "../helpers/netns.ts";

const hasIPv6 = existsSync("/proc/sys/net/ipv6");
let ns: Netns;

function run(argv: string[]): string {
  const r = withNetns(ns.path, () => Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" }));
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

const json = <T>(argv: string[]): T => JSON.parse(run(argv)) as T;

interface Ruleset {
  nftables: Record<string, { family?: string; table?: string; chain?: string; name?: string; expr?: unknown[] }>[];
}
const tables = (): string[] =>
  json<Ruleset>(["nft", "-j", "list", "ruleset"])
    .nftables.filter((o) => "table" in o)
    .map((o) => `${o.table!.family} ${o.table!.name}`);

const sysctl = (key: string): string => withNetns(ns.path, () => readFileSync(`/proc/sys/net/${key}`, "utf8").trim());

const mark = `0x${REPLY_MARK.toString(16).padStart(8, "0")}`;

/** The fwmark rule and the local route of every family. */
function expectRouteBack(): void {
  for (const family of hasIPv6 ? ["-4", "-6"] : ["-4"]) {
    const fwmarkRules = json<{ fwmark?: string; table: string }[]>(["ip", "-j", family, "rule", "show"]).filter((r) => r.fwmark !== undefined);
    expect(fwmarkRules).toEqual([expect.objectContaining({ fwmark: mark, table: String(REPLY_TABLE) })]);
    expect(json(["ip", "-j", family, "route", "show", "table", String(REPLY_TABLE)])).toEqual([
      expect.objectContaining({ type: "local", dst: "default", dev: "lo" }),
    ]);
  }
}

const tcp = (ip: string): ReturnTarget => ({ protocol: "tcp", ip });
const udp = (ip: string): ReturnTarget => ({ protocol: "udp", ip });

beforeEach(() => {
  ns = createNetns();
  run(["ip", "link", "set", "lo", "up"]);
  run(["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"]);
  run(["ip", "link", "set", "d1", "up"]);
  run(["ip", "addr", "add", "10.0.2.100/24", "dev", "d0"]);
  if (hasIPv6) run(["ip", "addr", "add", "fd00::100/64", "dev", "d0", "nodad"]);
  run(["ip", "link", "set", "d0", "up"]);
});

afterEach(() => {
  removeNetns(ns.path);
});

describe("the forwarder's return path", () => {
  test("UDP, and TCP to an address behind the netns, made twice: one table of three rules, one fwmark rule and one local route per family", () => {
    const targets = [udp("10.0.2.100"), tcp("10.77.0.2"), ...(hasIPv6 ? [udp("fd00::100"), tcp("fd77::2")] : [])];
    for (let i = 0; i < 2; i++) expect(setUpReturnPath(ns.path, targets).marks).toEqual(targets.map(() => FORWARDER_MARK));
    const ruleset = json<Ruleset>(["nft", "-j", "list", "ruleset"]).nftables;
    expect(tables()).toEqual(["inet ctrnet-portfwd"]);
    expect(ruleset.filter((o) => "chain" in o).map((o) => o.chain!.name)).toEqual(["output", "prerouting"]);
    const rules = run(["nft", "list", "table", "inet", "ctrnet-portfwd"]);
    expect(rules).toContain(`type route hook output priority mangle; policy accept;`);
    expect(rules).toContain(`meta mark 0x63740001 ct mark set ${mark}`);
    expect(rules.match(new RegExp(`ct direction reply ct mark ${mark} meta mark set ${mark}`, "g"))).toHaveLength(2);
    expectRouteBack();
    expect(sysctl("ipv4/tcp_fwmark_accept")).toBe("0");
  });

  test("TCP to the netns's own addresses alone: marked sockets, no table; the marks of accepted sockets and of the kernel's answers follow the peer's", () => {
    const targets = [tcp("10.0.2.100"), ...(hasIPv6 ? [tcp("fd00:0::100")] : [])];
    for (let i = 0; i < 2; i++) expect(setUpReturnPath(ns.path, targets).marks).toEqual(targets.map(() => REPLY_MARK));
    expect(tables()).toEqual([]);
    expectRouteBack();
    expect(sysctl("ipv4/tcp_fwmark_accept")).toBe("1");
    expect(sysctl("ipv4/fwmark_reflect")).toBe("1");
    if (hasIPv6) expect(sysctl("ipv6/fwmark_reflect")).toBe("1");
  });

  test("both kinds in one netns: the table for those that need it; a tentative IPv6 address is not the netns's own yet", () => {
    if (hasIPv6) {
      // on a link that is down, an address stays tentative (DAD waits for the link)
      run(["ip", "link", "add", "d2", "type", "veth", "peer", "name", "d3"]);
      run(["ip", "addr", "add", "fd00:1::200/64", "dev", "d2"]);
    }
    const targets = [tcp("10.0.2.100"), udp("10.0.2.100"), ...(hasIPv6 ? [tcp("fd00:1::200")] : [])];
    expect(setUpReturnPath(ns.path, targets).marks).toEqual([REPLY_MARK, FORWARDER_MARK, ...(hasIPv6 ? [FORWARDER_MARK] : [])]);
    expect(tables()).toEqual(["inet ctrnet-portfwd"]);
  });

  test("behindBridge: true when no target, of either protocol, is an address of the netns (the forwarder's loopback clients then connect as the netns)", () => {
    expect(setUpReturnPath(ns.path, [tcp("10.77.0.2"), udp("10.77.0.2")]).behindBridge).toBe(true);
    expect(setUpReturnPath(ns.path, [udp("10.0.2.100")]).behindBridge).toBe(false);
    expect(setUpReturnPath(ns.path, [tcp("10.0.2.100"), tcp("10.77.0.2")]).behindBridge).toBe(false);
  });

  test("gateways: the default routes' (a link-local IPv6 one does not count); none without a default route", () => {
    expect(setUpReturnPath(ns.path, [])).toEqual({ gateway4: "", gateway6: "", marks: [], behindBridge: false });
    run(["ip", "route", "add", "default", "via", "10.0.2.2"]);
    if (hasIPv6) run(["ip", "-6", "route", "add", "default", "via", "fe80::2", "dev", "d0"]);
    expect(setUpReturnPath(ns.path, [])).toEqual({ gateway4: "10.0.2.2", gateway6: "", marks: [], behindBridge: false });
    if (!hasIPv6) return;
    run(["ip", "-6", "route", "replace", "default", "via", "fd00::2"]);
    expect(setUpReturnPath(ns.path, [])).toEqual({ gateway4: "10.0.2.2", gateway6: "fd00::2", marks: [], behindBridge: false });
  });
});
