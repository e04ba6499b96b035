// The rules that bring replies back to a forwarder keeping client addresses (drivers/portfwd/return-path.ts),
// against the kernel with nft's and ip's JSON output as the oracle: made twice, a netns holds them once.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { REPLY_MARK, REPLY_TABLE, setUpReturnPath } from "../../src/drivers/portfwd/return-path.ts";
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
  test("made twice: one table of three rules, one fwmark rule and one local route per family", () => {
    setUpReturnPath(ns.path);
    setUpReturnPath(ns.path);
    const ruleset = json<{ nftables: Record<string, { family?: string; table?: string; chain?: string; name?: string; expr?: unknown[] }>[] }>([
      "nft", "-j", "list", "ruleset",
    ]).nftables;
    expect(ruleset.filter((o) => "table" in o).map((o) => `${o.table!.family} ${o.table!.name}`)).toEqual(["inet ctrnet-portfwd"]);
    expect(ruleset.filter((o) => "chain" in o).map((o) => o.chain!.name)).toEqual(["output", "prerouting"]);
    const rules = run(["nft", "list", "table", "inet", "ctrnet-portfwd"]);
    const mark = `0x${REPLY_MARK.toString(16).padStart(8, "0")}`;
    expect(rules).toContain(`type route hook output priority mangle; policy accept;`);
    expect(rules).toContain(`meta mark 0x63740001 ct mark set ${mark}`);
    expect(rules.match(new RegExp(`ct direction reply ct mark ${mark} meta mark set ${mark}`, "g"))).toHaveLength(2);
    for (const family of hasIPv6 ? ["-4", "-6"] : ["-4"]) {
      const fwmarkRules = json<{ fwmark?: string; table: string }[]>(["ip", "-j", family, "rule", "show"]).filter((r) => r.fwmark !== undefined);
      expect(fwmarkRules).toEqual([expect.objectContaining({ fwmark: mark, table: String(REPLY_TABLE) })]);
      expect(json(["ip", "-j", family, "route", "show", "table", String(REPLY_TABLE)])).toEqual([
        expect.objectContaining({ type: "local", dst: "default", dev: "lo" }),
      ]);
    }
  });

  test("gateways: the default routes' (a link-local IPv6 one does not count); none without a default route", () => {
    expect(setUpReturnPath(ns.path)).toEqual({ gateway4: "", gateway6: "" });
    run(["ip", "route", "add", "default", "via", "10.0.2.2"]);
    if (hasIPv6) run(["ip", "-6", "route", "add", "default", "via", "fe80::2", "dev", "d0"]);
    expect(setUpReturnPath(ns.path)).toEqual({ gateway4: "10.0.2.2", gateway6: "" });
    if (!hasIPv6) return;
    run(["ip", "-6", "route", "replace", "default", "via", "fd00::2"]);
    expect(setUpReturnPath(ns.path)).toEqual({ gateway4: "10.0.2.2", gateway6: "fd00::2" });
  });
});
