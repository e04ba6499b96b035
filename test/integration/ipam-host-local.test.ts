// ctrnet's IPAM against the real host-local plugin (/usr/lib/cni/host-local, run with CNI_COMMAND and its
// configuration on stdin) on one allocation table: the same operations give the same files, concurrent
// allocations from both never share an address, each side sees the other's leases, releases and
// last_reserved_ip, and both wait on the same lock.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { close, flock, LOCK_EX, O_CREAT, O_RDONLY, open } from "../../ffi/libc.ts";
import { allocate, type HostLocalRangeSet, leases, release } from "../../src/drivers/ipam/index.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";
import { privileged } from "./cni-helpers.ts";

const HOST_LOCAL = "/usr/lib/cni/host-local";
const ROOT = new URL("../..", import.meta.url).pathname;
const scratch = scratchPath("ctrnet-ipam-hl-");
let dataDir: string;
let case_ = 0;
const network = "shared";

beforeAll(() => makeScratch(scratch));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeEach(() => {
  dataDir = join(scratch, `case${case_++}`);
  mkdirSync(dataDir);
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

interface PluginOutcome {
  ok: boolean;
  addresses: string[];
  message: string;
}

function pluginInput(dir: string, rangeSets: HostLocalRangeSet[], requested?: string[]): string {
  const conf: Record<string, unknown> = {
    cniVersion: "1.0.0",
    name: network,
    type: "bridge",
    ipam: { type: "host-local", dataDir: dir, ranges: rangeSets },
  };
  if (requested) conf.runtimeConfig = { ips: requested };
  return JSON.stringify(conf);
}

function pluginEnv(command: string, containerId: string, ifName: string): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_IFNAME: ifName, CNI_NETNS: "/proc/self/ns/net", CNI_PATH: "/usr/lib/cni" };
}

function outcome(exitCode: number | null, stdout: string): PluginOutcome {
  const json = stdout.trim() ? JSON.parse(stdout) : {};
  if (exitCode === 0) return { ok: true, addresses: (json.ips ?? []).map((ip: { address: string }) => ip.address), message: "" };
  return { ok: false, addresses: [], message: json.msg ?? stdout };
}

function hostLocal(command: "ADD" | "DEL" | "CHECK", containerId: string, rangeSets: HostLocalRangeSet[], opts: { dir?: string; ifName?: string; requested?: string[] } = {}): PluginOutcome {
  const r = Bun.spawnSync([HOST_LOCAL], {
    env: pluginEnv(command, containerId, opts.ifName ?? "eth0"),
    stdin: Buffer.from(pluginInput(opts.dir ?? dataDir, rangeSets, opts.requested)),
  });
  return outcome(r.exitCode, r.stdout.toString());
}

async function hostLocalAsync(command: "ADD" | "DEL", containerId: string, rangeSets: HostLocalRangeSet[]): Promise<PluginOutcome> {
  const proc = Bun.spawn([HOST_LOCAL], { env: pluginEnv(command, containerId, "eth0"), stdin: Buffer.from(pluginInput(dataDir, rangeSets)), stdout: "pipe" });
  const stdout = await new Response(proc.stdout).text();
  return outcome(await proc.exited, stdout);
}

interface WorkerResult {
  containerId: string;
  addresses?: string[];
  released?: string[];
  error?: string;
}

function worker(job: Record<string, unknown>): { proc: Bun.Subprocess<"ignore", "pipe", "inherit">; results: Promise<WorkerResult[]> } {
  const proc = Bun.spawn([process.execPath, join(ROOT, "test/integration/ipam-worker.fixture.ts"), JSON.stringify({ dataDir, network, ifName: "eth0", ...job })], {
    stdout: "pipe",
  });
  const results = (async () => {
    const text = await new Response(proc.stdout).text();
    if ((await proc.exited) !== 0) throw new Error(`ipam worker exited ${proc.exitCode}`);
    return JSON.parse(text) as WorkerResult[];
  })();
  return { proc, results };
}

function ctrnet(containerId: string, rangeSets: HostLocalRangeSet[], opts: { dir?: string; requested?: string[] } = {}): PluginOutcome {
  try {
    const got = allocate({ dataDir: opts.dir ?? dataDir, network, rangeSets, containerId, ifName: "eth0", requested: opts.requested });
    return { ok: true, addresses: got.map((a) => a.address), message: "" };
  } catch (err) {
    return { ok: false, addresses: [], message: (err as Error).message };
  }
}

/** Every entry of a table directory with its bytes (the lock file is empty in both). */
function tableFiles(dir: string): Record<string, string> {
  const d = join(dir, network);
  return Object.fromEntries(readdirSync(d).sort().map((f) => [f, readFileSync(join(d, f), "latin1")]));
}

/** Lease files only: address -> owner. */
function leaseFiles(): Record<string, string> {
  const all = tableFiles(dataDir);
  return Object.fromEntries(Object.entries(all).filter(([f]) => f !== "lock" && !f.startsWith("last_reserved_ip.") && !f.startsWith(".ctrnet-highest.")));
}

describe.skipIf(!privileged)("ctrnet IPAM and host-local on one table", () => {
  test("the same operations give the same addresses, the same errors and byte-identical files", () => {
    const sets: HostLocalRangeSet[] = [
      [
        { subnet: "10.20.0.0/28", rangeStart: "10.20.0.3", rangeEnd: "10.20.0.9", gateway: "10.20.0.5" },
        { subnet: "10.20.1.0/30" },
      ],
      [{ subnet: "fd00:20::/124", rangeStart: "fd00:20::a" }],
    ];
    const hl = join(dataDir, "host-local");
    const ours = join(dataDir, "ctrnet");
    type Op = ["add", string, string[]?] | ["del", string];
    const ops: Op[] = [
      ["add", "c0"], ["add", "c1"], ["add", "c2"], ["add", "c3"], ["del", "c1"], ["add", "c4"], ["add", "c5", ["10.20.0.4"]],
      ["add", "c6"], ["del", "c3"], ["add", "c7"], ["add", "c8"], ["add", "c9"], ["add", "c10", ["10.20.0.9"]], ["add", "c11", ["10.20.0.5"]],
      ["add", "c12", ["10.20.0.2"]], ["del", "c0"], ["add", "c13"], ["add", "c14"],
    ];
    const rows: [string, boolean, string[], boolean, string[]][] = [];
    for (const [op, id, requested] of ops) {
      if (op === "del") {
        expect(hostLocal("DEL", id, sets, { dir: hl }).ok).toBe(true);
        release({ dataDir: ours, network, containerId: id, ifName: "eth0" });
        continue;
      }
      const a = hostLocal("ADD", id, sets, { dir: hl, requested });
      const b = ctrnet(id, sets, { dir: ours, requested });
      rows.push([id, a.ok, a.addresses, b.ok, b.addresses]);
      expect(b.ok).toBe(a.ok);
      expect(b.addresses).toEqual(a.addresses);
    }
    // Both walked into the set's second range after the first one's end (c7), ran out of IPv6 addresses
    // (fd00:20::a to ::f: c8, c9, c14), refused a taken address (c10), the gateway (c11) and one outside the ranges (c12).
    expect(rows.find((r) => r[0] === "c7")![2]).toEqual(["10.20.1.2/30", "fd00:20::d/124"]);
    expect(rows.filter((r) => !r[1]).map((r) => r[0])).toEqual(["c8", "c9", "c10", "c11", "c12", "c14"]);
    // host-local's files byte for byte; beside them ctrnet's record of the highest address each set handed out
    const { ".ctrnet-highest.0": highest0, ".ctrnet-highest.1": highest1, ...shared } = tableFiles(ours);
    expect(shared).toEqual(tableFiles(hl));
    expect([highest0, highest1]).toEqual(["10.20.1.2", "fd00:20::f"]);
  });

  test("40 allocations from host-local and 40 from ctrnet at once, on 80 free addresses per family, never share one", async () => {
    const sets: HostLocalRangeSet[] = [
      [{ subnet: "10.21.0.0/24", rangeStart: "10.21.0.1", rangeEnd: "10.21.0.81" }],
      [{ subnet: "fd00:21::/64", rangeStart: "fd00:21::1", rangeEnd: "fd00:21::51" }],
    ];
    const hlIds = Array.from({ length: 40 }, (_, i) => `hl${i}`);
    const ourIds = Array.from({ length: 40 }, (_, i) => `ct${i}`);
    const workers = [0, 1, 2, 3].map((w) => worker({ op: "allocate", rangeSets: sets, containerIds: ourIds.slice(w * 10, w * 10 + 10) }));
    const hlResults = await Promise.all(hlIds.map((id) => hostLocalAsync("ADD", id, sets)));
    const ourResults = (await Promise.all(workers.map((w) => w.results))).flat();

    expect(hlResults.filter((r) => !r.ok)).toEqual([]);
    expect(ourResults.filter((r) => r.error !== undefined)).toEqual([]);
    const owners = new Map<string, string>();
    hlResults.forEach((r, i) => r.addresses.forEach((a) => owners.set(a.split("/")[0]!, hlIds[i]!)));
    ourResults.forEach((r) => r.addresses!.forEach((a) => owners.set(a.split("/")[0]!, r.containerId)));
    // 160 addresses handed out, 160 different ones: every address of both ranges but the gateways.
    expect(owners.size).toBe(160);
    expect(Object.fromEntries(owners)).toEqual(Object.fromEntries(Object.entries(leaseFiles()).map(([ip, owner]) => [ip, owner.split("\r\n")[0]!])));

    // Full for both of them now.
    expect(hostLocal("ADD", "late1", sets).message).toContain("no IP addresses available in range set");
    expect(ctrnet("late2", sets).message).toContain("network shared: no IP addresses available in range set 0");

    // Each side releases the other's containers, at once.
    const releasers = [0, 1, 2, 3].map((w) => worker({ op: "release", containerIds: hlIds.slice(w * 10, w * 10 + 10) }));
    const dels = await Promise.all(ourIds.map((id) => hostLocalAsync("DEL", id, sets)));
    expect(dels.filter((r) => !r.ok)).toEqual([]);
    expect((await Promise.all(releasers.map((w) => w.results))).flat().every((r) => r.released!.length === 2)).toBe(true);
    expect(leaseFiles()).toEqual({});
  });

  test("a lease made by one side is seen, refused twice and released by the other", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.22.0.0/24" }]];
    expect(hostLocal("ADD", "a", sets).addresses).toEqual(["10.22.0.2/24"]);
    expect(leases({ dataDir, network })).toEqual([{ ip: "10.22.0.2", containerId: "a", ifName: "eth0" }]);
    expect(ctrnet("a", sets).message).toBe("network shared: 10.22.0.2 has been allocated to a, duplicate allocation is not allowed");
    expect(release({ dataDir, network, containerId: "a", ifName: "eth0" })).toEqual([{ ip: "10.22.0.2", containerId: "a", ifName: "eth0" }]);
    expect(hostLocal("CHECK", "a", sets).message).toContain("Failed to find address added by container a");

    expect(ctrnet("b", sets).addresses).toEqual(["10.22.0.3/24"]);
    expect(hostLocal("CHECK", "b", sets).ok).toBe(true);
    expect(hostLocal("ADD", "b", sets).message).toContain("10.22.0.3 has been allocated to b, duplicate allocation is not allowed");
    expect(hostLocal("DEL", "b", sets).ok).toBe(true);
    expect(leases({ dataDir, network })).toEqual([]);
    expect(ctrnet("b", sets).addresses).toEqual(["10.22.0.4/24"]);
  });

  test("each side continues after the address the other handed out last (last_reserved_ip)", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.23.0.0/24" }], [{ subnet: "fd00:23::/64" }]];
    expect(hostLocal("ADD", "a", sets).addresses).toEqual(["10.23.0.2/24", "fd00:23::2/64"]);
    expect(hostLocal("ADD", "b", sets).addresses).toEqual(["10.23.0.3/24", "fd00:23::3/64"]);
    expect(hostLocal("DEL", "a", sets).ok).toBe(true);
    expect(ctrnet("c", sets).addresses).toEqual(["10.23.0.4/24", "fd00:23::4/64"]);
    expect(hostLocal("ADD", "d", sets).addresses).toEqual(["10.23.0.5/24", "fd00:23::5/64"]);
    expect(ctrnet("e", sets, { requested: ["10.23.0.200"] }).addresses).toEqual(["10.23.0.200/24", "fd00:23::6/64"]);
    expect(hostLocal("ADD", "f", sets).addresses).toEqual(["10.23.0.201/24", "fd00:23::7/64"]);
  });

  test("an address the other side holds is refused when requested", () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.24.0.0/24" }]];
    hostLocal("ADD", "a", sets, { requested: ["10.24.0.7"] });
    expect(ctrnet("b", sets, { requested: ["10.24.0.7"] }).message).toBe("network shared: requested ip address 10.24.0.7 is already allocated");
    expect(ctrnet("b", sets, { requested: ["10.24.0.8"] }).ok).toBe(true);
    expect(hostLocal("ADD", "c", sets, { requested: ["10.24.0.8"] }).message).toContain("requested IP address 10.24.0.8 is not available in range set");
    expect(leaseFiles()).toEqual({ "10.24.0.7": "a\r\neth0", "10.24.0.8": "b\r\neth0" });
  });

  test("both wait on the same flock of the table's lock file", async () => {
    const sets: HostLocalRangeSet[] = [[{ subnet: "10.25.0.0/24" }]];
    mkdirSync(join(dataDir, network));
    const hold = () => {
      const fd = open(join(dataDir, network, "lock"), O_RDONLY | O_CREAT, 0o750);
      flock(fd, LOCK_EX);
      return fd;
    };
    let fd: number | undefined = hold();
    const plugin = hostLocalAsync("ADD", "a", sets);
    const ours = worker({ op: "allocate", rangeSets: sets, containerIds: ["b"] });
    try {
      // Neither can finish while this process holds the lock, however long that is.
      await Bun.sleep(500);
      expect(ours.proc.exitCode).toBeNull();
      expect(leaseFiles()).toEqual({});
    } finally {
      close(fd);
      fd = undefined;
    }
    const [a, [b]] = await Promise.all([plugin, ours.results]);
    expect([...a.addresses, ...b!.addresses!].sort()).toEqual(["10.25.0.2/24", "10.25.0.3/24"]);

    fd = hold();
    const del = hostLocalAsync("DEL", "a", sets);
    try {
      await Bun.sleep(500);
      expect(Object.keys(leaseFiles())).toHaveLength(2);
    } finally {
      close(fd);
    }
    expect((await del).ok).toBe(true);
    expect(Object.values(leaseFiles())).toEqual(["b\r\neth0"]);
  });
});
