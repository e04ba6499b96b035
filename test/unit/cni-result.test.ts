// CNI result conversion: every spec version's wire form <-> the one internal form, against hand-written
// golden files in test/fixtures/cni/results.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type CniResult, ownResult, parseResult, toWire } from "../../src/drivers/cni/result.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/cni/results");
const fixture = (name: string): Record<string, unknown> => require(join(FIXTURES, name));

const internal = fixture("internal.json") as unknown as CniResult;
const VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

/** What survives a trip through a version without the 1.1 fields. */
const without11: Omit<CniResult, "cniVersion"> = {
  interfaces: internal.interfaces.map(({ name, mac, sandbox }) => ({ name, mac, ...(sandbox ? { sandbox } : {}) })),
  ips: internal.ips,
  routes: [{ dst: "0.0.0.0/0", gw: "10.88.0.1" }, { dst: "::/0" }],
  dns: internal.dns,
};

/** 0.1.0/0.2.0 keep one address per family, no interfaces, no interface index. */
const as020: Omit<CniResult, "cniVersion"> = {
  interfaces: [],
  ips: [
    { address: "10.88.0.2/16", gateway: "10.88.0.1" },
    { address: "fd00:88::2/64", gateway: "fd00:88::1" },
  ],
  routes: [{ dst: "0.0.0.0/0", gw: "10.88.0.1" }, { dst: "::/0" }],
  dns: internal.dns,
};

describe("toWire", () => {
  for (const version of VERSIONS) {
    test(`internal form -> ${version} matches the golden file`, () => {
      expect(toWire(internal, version)).toEqual(fixture(`result-${version}.json`));
    });
  }

  test("leaves out empty lists and keeps an empty dns object, as Go's encoder does", () => {
    const empty: CniResult = { cniVersion: "1.0.0", interfaces: [], ips: [], routes: [], dns: {} };
    expect(toWire(empty, "1.0.0")).toEqual({ cniVersion: "1.0.0", dns: {} });
    expect(toWire(empty, "0.2.0")).toEqual({ cniVersion: "0.2.0", dns: {} });
  });
});

describe("parseResult", () => {
  test("1.1.0 golden -> the internal form, field for field", () => {
    expect(parseResult(fixture("result-1.1.0.json"))).toEqual(internal);
  });

  for (const version of ["0.3.0", "0.3.1", "0.4.0", "1.0.0"]) {
    test(`${version} golden -> internal form without the 1.1 fields`, () => {
      expect(parseResult(fixture(`result-${version}.json`))).toEqual({ cniVersion: version, ...without11 });
    });
  }

  for (const version of ["0.1.0", "0.2.0"]) {
    test(`${version} golden (ip4/ip6) -> internal form`, () => {
      expect(parseResult(fixture(`result-${version}.json`))).toEqual({ cniVersion: version, ...as020 });
    });
  }

  for (const version of VERSIONS) {
    test(`${version}: parse then toWire gives the same document back`, () => {
      const wire = fixture(`result-${version}.json`);
      expect(toWire(parseResult(wire), version)).toEqual(wire);
    });
  }

  test("0.2.0 converts up to 1.0.0 and 0.4.0 down to 0.2.0", () => {
    expect(toWire(parseResult(fixture("result-0.2.0.json")), "1.0.0")).toEqual({
      cniVersion: "1.0.0",
      ips: as020.ips,
      routes: as020.routes,
      dns: internal.dns,
    });
    expect(toWire(parseResult(fixture("result-0.4.0.json")), "0.2.0")).toEqual({
      ...fixture("result-0.2.0.json"),
      cniVersion: "0.2.0",
    });
  });

  test("reads what the real bridge plugin prints", () => {
    const r = parseResult(fixture("bridge-plugin-1.0.0.json"));
    expect(r.ips).toEqual([{ address: "10.250.1.2/24", gateway: "10.250.1.1", interface: 2 }]);
    expect(r.interfaces[2]).toEqual({ name: "eth0", mac: "c6:99:e0:fa:70:ee", sandbox: "/run/netns/smk1" });
  });

  test("takes Go's null for empty lists and a missing cniVersion as 0.1.0", () => {
    expect(parseResult({ cniVersion: "1.0.0", interfaces: null, ips: null, routes: null, dns: null })).toEqual({
      cniVersion: "1.0.0",
      interfaces: [],
      ips: [],
      routes: [],
      dns: {},
    });
    expect(parseResult({ ip4: { ip: "10.0.0.2/8" } }).ips).toEqual([{ address: "10.0.0.2/8" }]);
  });

  test("rejects malformed results naming the field", () => {
    expect(() => parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.300/24" }] })).toThrow(
      "invalid CNI result: ips[0].address: expected an address with prefix length",
    );
    expect(() => parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2" }] })).toThrow("ips[0].address");
    expect(() => parseResult({ cniVersion: "1.0.0", interfaces: [{ mac: "x" }] })).toThrow(
      "invalid CNI result: interfaces[0].name: missing",
    );
    expect(() => parseResult({ cniVersion: "0.4.0", ips: [{ version: "5", address: "10.0.0.2/8" }] })).toThrow("ips[0].version");
    expect(() => parseResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/8", interface: -1 }] })).toThrow("ips[0].interface");
    expect(() => parseResult({ cniVersion: "0.2.0", ip4: { ip: "nonsense" } })).toThrow("ip4.ip");
    expect(() => parseResult("not an object")).toThrow("invalid CNI result");
  });
});

describe("ctrnet's own plugin's result, in-process", () => {
  const odd = () => ({ cniVersion: "1.0.0", ips: [{ address: "10.88.0.2" }], routes: null, extra: 1 });

  test("a plugin's output is checked; the result ctrnet's own plugin gave in this process is read as it is", () => {
    expect(() => parseResult(odd())).toThrow(/invalid CNI result/);
    expect(parseResult(ownResult(odd()))).toEqual({ cniVersion: "1.0.0", interfaces: [], ips: [{ address: "10.88.0.2" }], routes: [], dns: {} });
    // the same reading either way for a good one
    const wire = toWire(internal, "1.1.0");
    expect(parseResult(ownResult(structuredClone(wire)))).toEqual(parseResult(structuredClone(wire)));
  });
});
