// `network create` option values and `network ls --filter`.
import { describe, expect, test } from "bun:test";
import { networkMatcher, parseFilters, parseUntil, PRUNE_FILTER_KEYS } from "../../src/networks/filters.ts";
import type { NetworkInfo } from "../../src/networks/model.ts";
import { parseBridgeOptions, parseDriver, parseKeyValues, parseMacvlanOptions } from "../../src/networks/options.ts";

describe("create options", () => {
  test("KEY=VALUE lists: a bare key has an empty value, the value may hold '='", () => {
    expect(parseKeyValues("--label", ["a=1", "b", "c=x=y", "d="])).toEqual({ a: "1", b: "", c: "x=y", d: "" });
    expect(() => parseKeyValues("--label", ["=v"])).toThrow('invalid --label "=v": expected KEY=VALUE');
    expect(() => parseKeyValues("--opt", ["mtu=1", "mtu=2"])).toThrow("--opt mtu is given twice");
  });

  test("drivers", () => {
    expect(parseDriver(undefined)).toBe("bridge");
    expect(parseDriver("macvlan")).toBe("macvlan");
    expect(() => parseDriver("overlay")).toThrow('failed to find driver or plugin "overlay": use bridge, macvlan, ipvlan');
    expect(parseDriver("ipvlan")).toBe("ipvlan");
  });

  test("driver options become numbers and checked words", () => {
    expect(parseBridgeOptions({ mtu: "9000", vlan: "0" })).toEqual({ mtu: 9000, vlan: 0 });
    expect(parseMacvlanOptions({ parent: "eth0", mode: "vepa" })).toEqual({ parent: "eth0", mode: "vepa" });
    expect(() => parseBridgeOptions({ mtu: "-1" })).toThrow("invalid --opt mtu=-1: expected an integer");
    expect(() => parseMacvlanOptions({ vlan: "3" })).toThrow('unsupported macvlan network option: vlan (use parent, mode, mtu, plugin');
    expect(parseMacvlanOptions({ mode: "l3s" }, "ipvlan")).toEqual({ mode: "l3s" });
    expect(() => parseMacvlanOptions({ mode: "l3s" })).toThrow("invalid --opt mode=l3s for the macvlan driver: use one of bridge, private, vepa, passthru");
  });
});

const info = (name: string, driver: string, labels: Record<string, string> = {}): NetworkInfo => ({
  name,
  id: `${name.padEnd(12, "0")}${"0".repeat(52)}`.replace(/[^0-9a-f]/g, "a"),
  driver,
  network_interface: "",
  created: "2024-01-01T00:00:00.000Z",
  subnets: [],
  ipv6_enabled: false,
  internal: false,
  dns_enabled: false,
  labels,
  options: {},
  ipam_options: { driver: "host-local" },
});

describe("ls filters", () => {
  const all = [info("alpha", "bridge", { team: "a" }), info("beta", "macvlan", { team: "b", env: "" }), info("gamma", "bridge")];
  const names = (filters: string[]) => all.filter(networkMatcher(parseFilters(filters))).map((n) => n.name);

  test("name is a regular expression; values of one key are alternatives; keys combine", () => {
    expect(names([])).toEqual(["alpha", "beta", "gamma"]);
    expect(names(["name=^a"])).toEqual(["alpha"]);
    expect(names(["name=ta$", "name=mm"])).toEqual(["beta", "gamma"]);
    expect(names(["driver=bridge"])).toEqual(["alpha", "gamma"]);
    expect(names(["driver=bridge", "name=^g"])).toEqual(["gamma"]);
    expect(names(["driver=macvlan", "name=^g"])).toEqual([]);
  });

  test("label=KEY matches any value, label=KEY=VALUE that value", () => {
    expect(names(["label=team"])).toEqual(["alpha", "beta"]);
    expect(names(["label=team=b"])).toEqual(["beta"]);
    expect(names(["label=env"])).toEqual(["beta"]);
    expect(names(["label=env="])).toEqual(["beta"]);
  });

  test("id is a prefix", () => {
    expect(names([`id=${all[1]!.id.slice(0, 6)}`])).toEqual(["beta"]);
  });

  test("label!=KEY: networks without the label", () => {
    expect(names(["label!=team"])).toEqual(["gamma"]);
    expect(names(["label!=team=a"])).toEqual(["beta", "gamma"]);
  });

  test("dangling: whether no container uses the network, as Go's ParseBool reads the value", () => {
    const inUse = new Set(["beta"]);
    const pick = (filters: string[]) => all.filter(networkMatcher(parseFilters(filters), inUse)).map((n) => n.name);
    expect(pick(["dangling=true"])).toEqual(["alpha", "gamma"]);
    expect(pick(["dangling=1"])).toEqual(["alpha", "gamma"]);
    expect(pick(["dangling=false"])).toEqual(["beta"]);
    expect(() => parseFilters(["dangling=foo"])).toThrow('invalid dangling filter value "foo"');
  });

  test("until: created before a duration ago, Unix seconds or an RFC 3339 time", () => {
    // info() makes every network as created at 2024-01-01T00:00:00Z
    expect(names(["until=50"])).toEqual([]);
    expect(names(["until=5000000000000"])).toEqual(["alpha", "beta", "gamma"]);
    expect(names(["until=2024-01-02"])).toEqual(["alpha", "beta", "gamma"]);
    expect(names(["until=2023-12-31T23:00:00Z"])).toEqual([]);
    expect(names(["until=1h"])).toEqual(["alpha", "beta", "gamma"]);
    expect(parseUntil("1h30m", 10_000_000)).toBe(10_000_000 - 5_400_000);
    expect(() => parseFilters(["until=yesterday"])).toThrow('invalid until filter value "yesterday"');
    expect(() => parseFilters(["until=1", "until=2"])).toThrow("specify exactly one timestamp for until");
  });

  test("prune takes label, label! and until only", () => {
    expect(parseFilters(["until=10m", "label=a"], PRUNE_FILTER_KEYS)).toEqual({ until: ["10m"], label: ["a"] });
    expect(() => parseFilters(["dangling=true"], PRUNE_FILTER_KEYS)).toThrow('invalid filter "dangling": use label=…, label!=…, until=…');
  });

  test("bad filters", () => {
    expect(() => parseFilters(["namr=ab"])).toThrow('invalid filter "namr": use name=…, id=…, driver=…, label=…, label!=…, dangling=…, until=…');
    expect(() => parseFilters(["name"])).toThrow('invalid filter "name"');
    expect(() => networkMatcher(parseFilters(["name=("]))).toThrow("invalid --filter name=(: not a regular expression");
  });
});
