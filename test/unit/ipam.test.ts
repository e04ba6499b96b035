// ctrnet's IPAM in host-local's on-disk format, without privileges, in temporary directories: the order
// addresses come in, what is never handed out, requested addresses, exhaustion, release, GC, and what
// it tolerates in the directory. test/integration/ipam-host-local.test.ts checks it against host-local.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CtrnetError, UsageError } from "../../src/errors.ts";
import { allocate, gcLeases, type HostLocalRangeSet, leases, parseIpamConfig, release } from "../../src/drivers/ipam/index.ts";
import { withLockSync } from "../../src/state/lock.ts";

let dataDir: string;
const network = "net1";
let dir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "ctrnet-ipam-"));
  dir = join(dataDir, network);
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const V4: HostLocalRangeSet[] = [[{ subnet: "10.9.0.0/29" }]];
const DUAL: HostLocalRangeSet[] = [[{ subnet: "10.9.0.0/29" }], [{ subnet: "fd00:9::/125" }]];

function take(containerId: string, rangeSets: HostLocalRangeSet[] = V4, extra: { ifName?: string; requested?: string[] } = {}): string[] {
  return allocate({ dataDir, network, rangeSets, containerId, ifName: extra.ifName ?? "eth0", requested: extra.requested }).map((a) => a.address);
}

function files(): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, statSync(join(dir, f)).isFile() ? readFileSync(join(dir, f), "latin1") : "<dir>"]));
}

function failure(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

/** Each address handed out, with whether it is new to the network. */
function fresh(containerId: string, rangeSets: HostLocalRangeSet[] = V4, requested?: string[]): [string, boolean][] {
  return allocate({ dataDir, network, rangeSets, containerId, ifName: "eth0", requested }).map((a) => [a.ip, a.fresh]);
}

describe("fresh addresses (no gratuitous ARP needed for them)", () => {
  test("a new table's addresses are fresh until the walk wraps; a released address is never fresh again", () => {
    expect([fresh("a"), fresh("b", DUAL)]).toEqual([[["10.9.0.2", true]], [["10.9.0.3", true], ["fd00:9::2", true]]]);
    release({ dataDir, network, containerId: "a", ifName: "eth0" });
    expect(["c", "d", "e"].map((id) => fresh(id))).toEqual([[["10.9.0.4", true]], [["10.9.0.5", true]], [["10.9.0.6", true]]]);
    // wrapped: 10.9.0.2 was a's
    expect(fresh("f")).toEqual([["10.9.0.2", false]]);
    expect(readFileSync(join(dir, ".ctrnet-highest.0"), "latin1")).toBe("10.9.0.6");
  });

  test("a requested address is fresh only above every address handed out before", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.9.0.0/24" }]];
    expect(fresh("a", sets, ["10.9.0.20"])).toEqual([["10.9.0.20", true]]);
    // below it: never handed out, but the record cannot tell, so it counts as used (an ARP too many)
    expect(fresh("b", sets, ["10.9.0.10"])).toEqual([["10.9.0.10", false]]);
    expect(fresh("c", sets)).toEqual([["10.9.0.11", false]]);
    release({ dataDir, network, containerId: "a", ifName: "eth0" });
    expect(fresh("d", sets, ["10.9.0.20"])).toEqual([["10.9.0.20", false]]);
    expect(fresh("e", sets, ["10.9.0.21"])).toEqual([["10.9.0.21", true]]);
  });

  test("host-local's last_reserved_ip above the record raises it; a table with a history from before the record has no fresh address", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.9.0.0/24" }]];
    expect(fresh("a", sets)).toEqual([["10.9.0.2", true]]);
    // host-local handed out 10.9.0.3-5 meanwhile (and released them): it wrote last_reserved_ip, not the record
    writeFileSync(join(dir, "last_reserved_ip.0"), "10.9.0.5");
    expect(fresh("b", sets, ["10.9.0.4"])).toEqual([["10.9.0.4", false]]);
    expect(fresh("c", sets)).toEqual([["10.9.0.5", false]]);
    writeFileSync(join(dir, "last_reserved_ip.0"), "10.9.0.7");
    expect(fresh("d", sets)).toEqual([["10.9.0.8", true]]);
    // a table made before ctrnet kept the record (or by host-local alone): any address may have been handed out
    rmSync(join(dir, ".ctrnet-highest.0"));
    expect(fresh("e", sets)).toEqual([["10.9.0.9", false]]);
    expect(fresh("f", sets, ["10.9.0.100"])).toEqual([["10.9.0.100", false]]);
    expect(existsSync(join(dir, ".ctrnet-highest.0"))).toBe(false);
  });
});

describe("allocation order", () => {
  test("skips the network address, the gateway and the broadcast address, then is exhausted naming the network", () => {
    const got = ["a", "b", "c", "d", "e"].map((id) => take(id)[0]);
    expect(got).toEqual(["10.9.0.2/29", "10.9.0.3/29", "10.9.0.4/29", "10.9.0.5/29", "10.9.0.6/29"]);
    const err = failure(() => take("f"));
    expect(err).toBeInstanceOf(CtrnetError);
    expect(err.message).toBe("network net1: no IP addresses available in range set 0 (10.9.0.1-10.9.0.6)");
  });

  test("the files are host-local's: lease named by the address holding id CR LF ifname, last_reserved_ip.N, a lock", () => {
    allocate({ dataDir, network, rangeSets: DUAL, containerId: "ctr1", ifName: "eth0" });
    expect(files()).toEqual({
      // ctrnet's own beside them (no address for a name: never a lease to host-local), see "fresh addresses"
      ".ctrnet-highest.0": "10.9.0.2",
      ".ctrnet-highest.1": "fd00:9::2",
      "10.9.0.2": "ctr1\r\neth0",
      "fd00:9::2": "ctr1\r\neth0",
      "last_reserved_ip.0": "10.9.0.2",
      "last_reserved_ip.1": "fd00:9::2",
      lock: "",
    });
    const umask = process.umask();
    expect(statSync(dir).mode & 0o777).toBe(0o755 & ~umask);
    expect(statSync(join(dir, "lock")).mode & 0o777).toBe(0o750 & ~umask);
    expect(statSync(join(dir, "10.9.0.2")).mode & 0o777).toBe(0o600 & ~umask);
  });

  test("round robin: starts after last_reserved_ip, wraps to the range start, and reuses a released address only then", () => {
    take("a");
    take("b");
    release({ dataDir, network, containerId: "a", ifName: "eth0" });
    expect(take("c")).toEqual(["10.9.0.4/29"]);
    expect(take("d")).toEqual(["10.9.0.5/29"]);
    expect(take("e")).toEqual(["10.9.0.6/29"]);
    expect(take("f")).toEqual(["10.9.0.2/29"]);
    expect(readFileSync(join(dir, "last_reserved_ip.0"), "latin1")).toBe("10.9.0.2");
  });

  test("a last_reserved_ip outside the ranges or unreadable starts over at the range start, as host-local does", () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "last_reserved_ip.0"), "10.9.0.4\n");
    expect(take("a")).toEqual(["10.9.0.2/29"]);
    writeFileSync(join(dir, "last_reserved_ip.0"), "192.168.1.1");
    expect(take("b")).toEqual(["10.9.0.3/29"]);
    writeFileSync(join(dir, "last_reserved_ip.0"), "10.9.0.4");
    expect(take("c")).toEqual(["10.9.0.5/29"]);
  });

  test("rangeStart and rangeEnd bound the range; a gateway inside it is skipped", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.9.0.0/24", rangeStart: "10.9.0.10", rangeEnd: "10.9.0.12", gateway: "10.9.0.11" }]];
    expect([take("a", sets), take("b", sets)]).toEqual([["10.9.0.10/24"], ["10.9.0.12/24"]]);
    expect(failure(() => take("c", sets)).message).toContain("no IP addresses available in range set 0 (10.9.0.10-10.9.0.12)");
  });

  test("a rangeStart at the network address hands it out, as host-local does", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.9.0.0/30", rangeStart: "10.9.0.0", gateway: "10.9.0.2" }]];
    expect([take("a", sets), take("b", sets)]).toEqual([["10.9.0.0/30"], ["10.9.0.1/30"]]);
  });

  test("several ranges in one set are walked in order; the set's next address continues in the next range", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.9.1.0/30" }, { subnet: "10.9.2.0/30" }]];
    expect([take("a", sets), take("b", sets)]).toEqual([["10.9.1.2/30"], ["10.9.2.2/30"]]);
    expect(failure(() => take("c", sets)).message).toContain("(10.9.1.1-10.9.1.2,10.9.2.1-10.9.2.2)");
  });

  test("dual stack: one address from each range set; IPv6 has no broadcast address, so its last address is handed out", () => {
    expect(take("a", DUAL)).toEqual(["10.9.0.2/29", "fd00:9::2/125"]);
    // Alone, the IPv6 set is set 0, whose last reserved address (IPv4) is in none of its ranges: it starts over.
    const got = ["b", "c", "d", "e", "f"].map((id) => take(id, [[{ subnet: "fd00:9::/125" }]])[0]);
    expect(got).toEqual(["fd00:9::3/125", "fd00:9::4/125", "fd00:9::5/125", "fd00:9::6/125", "fd00:9::7/125"]);
  });

  test("a large IPv6 range is no slower for being large", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "fd00:1::/64" }]];
    expect(take("a", sets)).toEqual(["fd00:1::2/64"]);
    expect(take("b", sets)).toEqual(["fd00:1::3/64"]);
  });
});

describe("configuration", () => {
  const refused = (rangeSets: HostLocalRangeSet[]) => {
    const err = failure(() => take("a", rangeSets));
    expect(err).toBeInstanceOf(UsageError);
    expect(existsSync(dir)).toBe(false);
    return err.message;
  };

  test("host-local's refusals: too small, host bits, outside the subnet, mixed families, overlaps, nothing", () => {
    expect(refused([[{ subnet: "10.9.0.0/31" }]])).toBe("network net1: invalid range set 0: network 10.9.0.0/31 too small to allocate from");
    expect(refused([[{ subnet: "10.9.0.1/32" }]])).toContain("too small to allocate from");
    expect(refused([[{ subnet: "fd00::/127" }]])).toContain("too small to allocate from");
    expect(refused([[{ subnet: "10.9.0.1/24" }]])).toBe("network net1: invalid range set 0: subnet 10.9.0.1/24 has host bits set: the network address is 10.9.0.0/24");
    expect(refused([[{ subnet: "10.9.0.0/24", rangeStart: "10.9.1.1" }]])).toBe("network net1: invalid range set 0: rangeStart 10.9.1.1 not in network 10.9.0.0/24");
    expect(refused([[{ subnet: "10.9.0.0/24", rangeEnd: "fd00::1" }]])).toContain("rangeEnd fd00::1 not in network 10.9.0.0/24");
    expect(refused([[{ subnet: "10.9.0.0/24", rangeStart: "10.9.0.9", rangeEnd: "10.9.0.8" }]])).toContain("rangeStart 10.9.0.9 is after rangeEnd 10.9.0.8");
    expect(refused([[{ subnet: "10.9.0.0/24" }, { subnet: "fd00::/64" }]])).toBe("network net1: invalid range set 0: mixed address families");
    expect(refused([[{ subnet: "10.9.0.0/24" }, { subnet: "10.9.0.0/25" }]])).toContain("subnets 10.9.0.1-10.9.0.254 and 10.9.0.1-10.9.0.126 overlap");
    expect(refused([[{ subnet: "10.9.0.0/24" }], [{ subnet: "10.9.0.128/25" }]])).toBe("network net1: range set 0 overlaps with 1");
    expect(refused([[]])).toBe("network net1: invalid range set 0: empty range set");
    expect(refused([])).toBe("network net1: no IP ranges specified");
    expect(refused([[{ subnet: "10.9.0.0" }]])).toContain('invalid subnet "10.9.0.0"');
    expect(refused([[{ subnet: "10.9.0.0/24", gateway: "10.9.0.300" }]])).toContain('invalid gateway "10.9.0.300"');
  });

  test("disjoint ranges of one subnet may share a set; empty strings and nulls mean the default", () => {
    const sets = [[{ subnet: "10.9.0.0/24", rangeStart: "10.9.0.10", rangeEnd: "10.9.0.10" }, { subnet: "10.9.0.0/24", rangeStart: "10.9.0.20", rangeEnd: "10.9.0.20" }]];
    expect([take("a", sets), take("b", sets)]).toEqual([["10.9.0.10/24"], ["10.9.0.20/24"]]);
    expect(take("c", [[{ subnet: "10.9.1.0/24", gateway: "", rangeStart: null }]])).toEqual(["10.9.1.2/24"]);
  });

  test("parseIpamConfig: host-local's single-range keys come before `ranges`; the shape is checked", () => {
    const section = { type: "host-local", subnet: "10.1.0.0/16", gateway: "10.1.0.9", ranges: [[{ subnet: "fd00::/64" }]], dataDir: "/x" };
    expect(parseIpamConfig("n", section)).toEqual({
      dataDir: "/x",
      rangeSets: [[{ subnet: "10.1.0.0/16", rangeStart: undefined, rangeEnd: undefined, gateway: "10.1.0.9" }], [{ subnet: "fd00::/64" }]],
    });
    expect(parseIpamConfig("n", { type: "host-local", ranges: [[{ subnet: "10.1.0.0/16" }]] })).toEqual({ rangeSets: [[{ subnet: "10.1.0.0/16" }]] });
    expect(() => parseIpamConfig("n", { type: "host-local", ranges: [[{ subnet: 7 }]] })).toThrow("network n: ipam: ranges[0][0].subnet: expected string, got 7");
    expect(() => parseIpamConfig("n", { type: "dhcp" })).toThrow("network n: ipam: type:");
  });
});

describe("requested addresses", () => {
  test("a free address inside a range is given and becomes the set's last reserved address", () => {
    expect(take("a", V4, { requested: ["10.9.0.5"] })).toEqual(["10.9.0.5/29"]);
    expect(take("b")).toEqual(["10.9.0.6/29"]);
  });

  test("the ips capability's address/prefix form and an IPv4-mapped address are the address itself", () => {
    expect(take("a", DUAL, { requested: ["fd00:9::6/125", "::ffff:10.9.0.4"] })).toEqual(["10.9.0.4/29", "fd00:9::6/125"]);
  });

  test("taken, the gateway, outside every range, or not an address: refused, no lease left behind", () => {
    take("a", V4, { requested: ["10.9.0.3"] });
    const before = leases({ dataDir, network });
    const cases: [string[], string][] = [
      [["10.9.0.3"], "network net1: requested ip address 10.9.0.3 is already allocated"],
      [["10.9.0.1"], "network net1: requested IP address 10.9.0.1 is the gateway of subnet 10.9.0.0/29"],
      [["10.9.0.7"], "network net1: requested IP address 10.9.0.7 is in no range of the network (10.9.0.1-10.9.0.6)"],
      [["10.9.0.4", "10.9.0.7"], "requested IP address 10.9.0.7 is in no range"],
      [["10.9.0"], 'invalid requested IP address "10.9.0"'],
    ];
    for (const [requested, message] of cases) {
      const err = failure(() => take("b", V4, { requested }));
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toContain(message);
      expect(leases({ dataDir, network })).toEqual(before);
    }
  });

  test("a request for one set leaves the other set to the walk", () => {
    expect(take("a", DUAL, { requested: ["10.9.0.6"] })).toEqual(["10.9.0.6/29", "fd00:9::2/125"]);
  });

  test("several requested for one set are all given, set by set, each set's in the order asked (netavark's static IPs)", () => {
    expect(take("a", DUAL, { requested: ["fd00:9::5", "10.9.0.5", "fd00:9::3", "10.9.0.2"] })).toEqual(["10.9.0.5/29", "10.9.0.2/29", "fd00:9::5/125", "fd00:9::3/125"]);
    expect(leases({ dataDir, network }).map((l) => l.ip).sort()).toEqual(["10.9.0.2", "10.9.0.5", "fd00:9::3", "fd00:9::5"]);
  });
});

describe("one attachment, one address per set", () => {
  test("the same container and interface again is refused, as host-local refuses a repeated ADD; another interface is not", () => {
    take("a");
    const err = failure(() => take("a"));
    expect(err).toBeInstanceOf(CtrnetError);
    expect(err.message).toBe("network net1: 10.9.0.2 has been allocated to a, duplicate allocation is not allowed");
    expect(take("a", V4, { ifName: "eth1" })).toEqual(["10.9.0.3/29"]);
  });

  test("unheld with owner marks skips the duplicate check only where the interface has no mark; release and GC remove marks", () => {
    const marked = (containerId: string, unheld: boolean, ifName = "eth0") =>
      allocate({ dataDir, network, rangeSets: V4, containerId, ifName, unheld, ownerMarks: true }).map((a) => a.address);
    const duplicate = "network net1: 10.9.0.2 has been allocated to a, duplicate allocation is not allowed";
    expect(marked("a", true)).toEqual(["10.9.0.2/29"]);
    // a lease the caller has no record of (an attach killed before it recorded it, a state dir lost): its
    // mark makes the check happen, which refuses a second address as host-local would
    expect(failure(() => marked("a", true)).message).toBe(duplicate);
    expect(failure(() => marked("a", false)).message).toBe(duplicate);
    expect(Object.keys(files()).sort()).toEqual([".ctrnet-highest.0", ".ctrnet-owners", "10.9.0.2", "last_reserved_ip.0", "lock"]);
    expect(readdirSync(join(dir, ".ctrnet-owners")).map((m) => readFileSync(join(dir, ".ctrnet-owners", m), "utf8"))).toEqual(["a\r\neth0"]);
    expect(release({ dataDir, network, containerId: "a", ifName: "eth0", known: ["10.9.0.2"] })).toHaveLength(1);
    // with its last mark, the directory goes: the table is host-local's again
    expect(existsSync(join(dir, ".ctrnet-owners"))).toBe(false);
    expect(marked("a", true)).toEqual(["10.9.0.3/29"]);
    expect(marked("b", true)).toEqual(["10.9.0.4/29"]);
    // a failed allocation leaves no mark of its own
    expect(failure(() => allocate({ dataDir, network, rangeSets: V4, containerId: "c", ifName: "eth0", requested: ["10.9.0.3"], unheld: true, ownerMarks: true })).message).toContain("already allocated");
    expect(readdirSync(join(dir, ".ctrnet-owners"))).toHaveLength(2);
    gcLeases({ dataDir, network }, [{ containerId: "b", ifName: "eth0" }]);
    expect(readdirSync(join(dir, ".ctrnet-owners")).map((m) => readFileSync(join(dir, ".ctrnet-owners", m), "utf8"))).toEqual(["b\r\neth0"]);
    // unheld alone (no marks kept) is host-local's check, made in full
    take("d");
    expect(failure(() => allocate({ dataDir, network, rangeSets: V4, containerId: "d", ifName: "eth0", unheld: true })).message).toContain("has been allocated to d");
  });

  test("a failure in a later set removes the leases of the earlier sets; their last_reserved_ip moves on, as host-local's does", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.9.0.0/29" }], [{ subnet: "fd00:9::/126", rangeStart: "fd00:9::2", rangeEnd: "fd00:9::2" }]];
    take("a", sets);
    const before = files();
    expect(failure(() => take("b", sets)).message).toContain("no IP addresses available in range set 1 (fd00:9::2-fd00:9::2)");
    // the record goes with it: an address handed out, if only for a moment, is not fresh again
    expect(files()).toEqual({ ...before, "last_reserved_ip.0": "10.9.0.3", ".ctrnet-highest.0": "10.9.0.3" });
  });
});

describe("release, listing and GC", () => {
  test("release removes every lease of the container's interface and returns them; nothing to release is fine", () => {
    take("a", DUAL);
    take("a", DUAL, { ifName: "eth1" });
    expect(release({ dataDir, network, containerId: "a", ifName: "eth0" })).toEqual([
      { ip: "10.9.0.2", containerId: "a", ifName: "eth0" },
      { ip: "fd00:9::2", containerId: "a", ifName: "eth0" },
    ]);
    expect(leases({ dataDir, network }).map((l) => l.ip)).toEqual(["10.9.0.3", "fd00:9::3"]);
    expect(release({ dataDir, network, containerId: "a", ifName: "eth0" })).toEqual([]);
    expect(release({ dataDir, network: "never-used", containerId: "a", ifName: "eth0" })).toEqual([]);
    expect(existsSync(join(dataDir, "never-used"))).toBe(false);
  });

  test("known addresses: only their files are released when all still name the attachment; else the whole table is searched", () => {
    take("a", DUAL);
    take("b", DUAL);
    take("a", V4, { ifName: "eth1" });
    const eth0 = (known: string[]) => release({ dataDir, network, containerId: "a", ifName: "eth0", known });
    expect(eth0(["10.9.0.2", "10.9.0.2"]).map((l) => l.ip)).toEqual(["10.9.0.2"]);
    // The attachment's IPv6 lease was not named, so it stays: the caller vouched for what it holds.
    expect(leases({ dataDir, network }).filter((l) => l.containerId === "a").map((l) => l.ip)).toEqual(["10.9.0.4", "fd00:9::2"]);
    // 10.9.0.3 is b's, so the known list is stale: the whole table is searched, and b keeps its lease.
    expect(eth0(["10.9.0.3", "fd00:9::2"]).map((l) => l.ip)).toEqual(["fd00:9::2"]);
    expect(release({ dataDir, network, containerId: "a", ifName: "eth1", known: ["not-an-ip"] }).map((l) => l.ip)).toEqual(["10.9.0.4"]);
    expect(leases({ dataDir, network }).map((l) => l.containerId)).toEqual(["b", "b"]);
  });

  test("files of old host-local versions (the id alone) are released when the interface has no lease of its own", () => {
    take("a");
    writeFileSync(join(dir, "10.9.0.5"), "a\n");
    release({ dataDir, network, containerId: "a", ifName: "eth0" });
    expect(leases({ dataDir, network })).toEqual([{ ip: "10.9.0.5", containerId: "a" }]);
    expect(release({ dataDir, network, containerId: "a", ifName: "eth0" })).toEqual([{ ip: "10.9.0.5", containerId: "a" }]);
  });

  test("GC releases what no valid attachment owns, owner-less files included; an id-only lease lives with its container", () => {
    take("a");
    take("b");
    take("b", V4, { ifName: "eth1" });
    writeFileSync(join(dir, "10.9.0.5"), "");
    writeFileSync(join(dir, "10.9.0.6"), "a");
    const released = gcLeases({ dataDir, network }, [{ containerId: "a", ifName: "eth0" }, { containerId: "b", ifName: "eth1" }]);
    expect(released).toEqual([
      { ip: "10.9.0.3", containerId: "b", ifName: "eth0" },
      { ip: "10.9.0.5", containerId: "" },
    ]);
    expect(leases({ dataDir, network }).map((l) => l.ip)).toEqual(["10.9.0.2", "10.9.0.4", "10.9.0.6"]);
    expect(gcLeases({ dataDir, network }, []).length).toBe(3);
    expect(leases({ dataDir, network })).toEqual([]);
  });

  test("foreign and corrupt entries are tolerated as host-local tolerates them", () => {
    mkdirSync(join(dir, "10.9.0.3"), { recursive: true });
    writeFileSync(join(dir, "10.9.0.4"), Buffer.from([0xff, 0x00, 0x0d]));
    writeFileSync(join(dir, "notes.txt"), "a\r\neth0");
    symlinkSync("/nonexistent", join(dir, "10.9.0.5"));
    writeFileSync(join(dir, "010.9.0.6"), "x");
    // Every existing name keeps its address, whatever it is; only regular files named by an address are leases.
    expect(take("a")).toEqual(["10.9.0.2/29"]);
    expect(take("b")).toEqual(["10.9.0.6/29"]);
    expect(leases({ dataDir, network }).map((l) => l.ip)).toEqual(["10.9.0.2", "10.9.0.4", "10.9.0.6"]);
    release({ dataDir, network, containerId: "a", ifName: "eth0" });
    expect(readFileSync(join(dir, "notes.txt"), "latin1")).toBe("a\r\neth0");
  });
});

describe("names become paths", () => {
  test("network names, container ids and interface names are checked before anything is made", () => {
    const bad: [Partial<{ network: string; containerId: string; ifName: string }>, string][] = [
      [{ network: "../x" }, 'Invalid characters in network name "../x"'],
      [{ network: "a/b" }, 'Invalid characters in network name "a/b"'],
      [{ network: "" }, "network name must not be empty"],
      [{ network: "." }, 'Invalid characters in network name "."'],
      [{ containerId: "a\r\nb" }, "invalid container id"],
      [{ ifName: "eth0\r\n" }, "invalid interface name"],
      [{ ifName: "../../x" }, "invalid interface name"],
    ];
    for (const [change, message] of bad) {
      const err = failure(() => allocate({ dataDir, network, rangeSets: V4, containerId: "a", ifName: "eth0", ...change }));
      expect(err).toBeInstanceOf(UsageError);
      expect(err.message).toContain(message);
      expect(() => release({ dataDir, network, containerId: "a", ifName: "eth0", ...change })).toThrow(message);
      expect(() => leases({ dataDir, network: change.network ?? "../x" })).toThrow(/network name/);
    }
    expect(readdirSync(dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, "..", "x"))).toBe(false);
  });
});

describe("the lock", () => {
  test("every call takes the table's lock: a holder in this process is refused instead of waited for", () => {
    take("a");
    withLockSync(join(dir, "lock"), () => {
      expect(() => take("b")).toThrow("is already held by this process");
      expect(() => leases({ dataDir, network })).toThrow("is already held by this process");
    });
    expect(take("b")).toEqual(["10.9.0.3/29"]);
  });
});
