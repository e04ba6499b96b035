// `ctrnet network …` through the compiled binary, as root inside the runner's private net+mount namespace,
// every directory a temporary one; and networks it creates used by the real reference plugins.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { createCniRuntime, type CniRuntime } from "../../src/drivers/cni/index.ts";
import { createContext } from "../../src/lifecycle/context.ts";
import { createContainer, removeContainer } from "../../src/lifecycle/index.ts";
import { type Cidr, parseCidr } from "../../src/ip/codec.ts";
import { createNetns, removeNetns } from "../../src/netns/index.ts";
import type { NetworkInfo, NetworkInspectInfo } from "../../src/networks/index.ts";
import { subnetsOverlap } from "../../src/schema/ip.ts";
import { newContainerRecord } from "../../src/container/attachments.ts";
import { openState } from "../../src/state/index.ts";
import { BINARY, type CliResult, ctrnet, ensureBinary } from "../helpers/binary.ts";
import * as libc from "../../ffi/libc.ts";
import { firewallLinesMentioning, hex, hostVeths, ipamAllocations, perContainerChains, privileged, run } from "./cni-helpers.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";
import { pluginCreateOptions, removeNetworkFirewall, TEST_NETWORK_PLUGIN } from "../helpers/network-plugin.ts";

const top = scratchPath("ctrnet-network-cli-");
const netnsDir = join(top, "netns");
const outerNetnsDir = process.env.CTRNET_NETNS_DIR;

/** A world of its own per test: config, cache, state; only the netns dir is shared. */
interface World {
  confDir: string;
  cacheDir: string;
  ipamDir: string;
  root: string;
  env: Record<string, string>;
  cli(args: string[]): CliResult;
  inspect(name: string): NetworkInspectInfo;
  files(): string[];
  runtime(): CniRuntime;
}

let worlds = 0;
const confDirsOfTest: string[] = [];

/**
 * The bridges the test's networks of ctrnet's own type hold from `network create` on (their gateways keep
 * podman off their subnets: src/networks/reserve.ts), for networks a test leaves in place.
 */
function removeReservations(): void {
  for (const dir of confDirsOfTest.splice(0)) {
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir)) {
      let plugin: { type?: unknown; bridge?: unknown } | undefined;
      try {
        plugin = JSON.parse(readFileSync(join(dir, file), "utf8")).plugins?.[0];
      } catch {
        continue;
      }
      if (plugin?.type === "ctrnet" && typeof plugin.bridge === "string" && linkExists(plugin.bridge)) run(["ip", "link", "del", plugin.bridge]);
    }
  }
}

function world(): World {
  const dir = join(top, `w${++worlds}`);
  const confDir = join(dir, "conf");
  const cacheDir = join(dir, "cache");
  const root = join(dir, "root");
  mkdirSync(dir);
  const env = { CTRNET_CNI_CONFIG_DIR: confDir, CTRNET_CNI_CACHE_DIR: cacheDir, CTRNET_ROOT: root, CTRNET_NETNS_DIR: netnsDir };
  confDirsOfTest.push(confDir);
  const w: World = {
    confDir,
    cacheDir,
    ipamDir: join(cacheDir, "networks"),
    root,
    env,
    cli: (args) => ctrnet(args, env),
    inspect(name) {
      const r = w.cli(["network", "inspect", name]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      return (JSON.parse(r.stdout) as NetworkInspectInfo[])[0]!;
    },
    files: () => (existsSync(confDir) ? readdirSync(confDir).sort() : []),
    runtime: () => createCniRuntime({ configDirs: [confDir], cacheDir, pluginTimeoutMs: 30_000 }),
  };
  return w;
}

/** A bridge network is served by the plugin under test unless args name one (test/helpers/network-plugin.ts). */
function create(w: World, args: string[]): string {
  const bridge = !args.includes("-d") && !args.some((a) => a.startsWith("plugin="));
  const r = w.cli(["network", "create", ...(bridge ? pluginCreateOptions() : []), ...args]);
  expect(r).toMatchObject({ code: 0, stderr: "" });
  return r.stdout.trim();
}

/** inspect as podman's: the list of what was found (nothing), then one error line and exit 1 (2 for bad input). */
function expectInspectError(r: CliResult, code: number, message: string): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "[]\n" });
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain(message);
}

/** A failure is one `ctrnet: error: …` line on stderr and nothing on stdout. */
function expectError(r: CliResult, code: number, message: string): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: "" });
  expect(r.stderr).toStartWith("ctrnet: error: ");
  expect(r.stderr).toContain(message);
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
}

const linkExists = (name: string): boolean => run(["ip", "link", "show", name]).ok;
/** `ip -n` knows only /run/netns; these namespaces live in the test's own directory. */
const inNetns = (path: string, argv: string[]) => run(["nsenter", `--net=${path}`, ...argv]);
const containerAddresses = (path: string, ifName: string): string => inNetns(path, ["ip", "-o", "addr", "show", "dev", ifName]).out;

/** Runs fn, then removes the networks and their bridges however it ended, so a failure leaves no interface behind. */
async function removingBridges(w: World, networks: string[], fn: () => Promise<void>): Promise<void> {
  const bridges = networks.map((n) => w.inspect(n).network_interface);
  try {
    await fn();
  } finally {
    for (const n of networks) w.cli(["network", "rm", "-f", n]);
    for (const b of bridges) if (linkExists(b)) run(["ip", "link", "del", b]);
  }
}

const cidrs = (info: NetworkInfo): Cidr[] => info.subnets.map((s) => parseCidr(s.subnet)!);

describe.skipIf(!privileged)("ctrnet network", () => {
  beforeAll(() => {
    makeScratch(top);
    ensureBinary();
    // The leak check in test/preload.ts watches this directory too; restored for the test files after this one.
    process.env.CTRNET_NETNS_DIR = netnsDir;
  });

  afterEach(() => removeReservations());

  afterAll(() => {
    if (outerNetnsDir === undefined) delete process.env.CTRNET_NETNS_DIR;
    else process.env.CTRNET_NETNS_DIR = outerNetnsDir;
    try {
      libc.umount2(netnsDir, libc.MNT_DETACH);
    } catch {
      // never made a mount point
    }
    rmSync(top, { recursive: true, force: true });
  });

  test("the default network ctrnet is made only when a container uses it, on a subnet free of the host's and of every conflist", async () => {
    const w = world();
    // Reading and creating networks leave it alone; until then they show it as it would be made now, as
    // podman shows its default network before it is used.
    expect(w.cli(["network", "ls", "-q"])).toEqual({ code: 0, stdout: "ctrnet\n", stderr: "" });
    expect(w.cli(["network", "exists", "ctrnet"]).code).toBe(0);
    expect(w.inspect("ctrnet")).toMatchObject({ name: "ctrnet", network_interface: "ctrnet0", subnets: [{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }], dns_enabled: false });
    expectError(w.cli(["network", "rm", "ctrnet"]), 2, "default network ctrnet cannot be removed");
    expect(w.files()).toEqual([]);
    expect(create(w, ["first"])).toBe("first");
    expect(w.inspect("first").subnets).toEqual([{ subnet: "10.89.0.0/24", gateway: "10.89.0.1" }]);
    expect(w.files()).toEqual(["first.conflist"]);
    // Another tool's network, and an address the host has: both are in use.
    writeFileSync(
      join(w.confDir, "87-other.conflist"),
      JSON.stringify({ cniVersion: "0.4.0", name: "other", plugins: [{ type: "bridge", bridge: "cni-other0", ipam: { type: "host-local", ranges: [[{ subnet: "10.89.1.0/24" }]] } }] }),
    );
    // This kernel has no dummy devices: a veth end holds the address.
    expect(run(["ip", "link", "add", "ctaddr0", "type", "veth", "peer", "name", "ctaddr0p"]).ok).toBe(true);
    const ctx = createContext({ root: w.root, netnsDir, cniConfigDir: w.confDir, cniCacheDir: w.cacheDir });
    const id = `c${hex(8)}`;
    try {
      expect(run(["ip", "addr", "add", "10.89.2.7/24", "dev", "ctaddr0"]).ok).toBe(true);
      await createContainer(ctx, { id, network: "bridge" });
      const info = w.inspect("ctrnet");
      expect(info).toMatchObject({ network_interface: "ctrnet0", subnets: [{ subnet: "10.89.3.0/24", gateway: "10.89.3.1" }], dns_enabled: false });
      expect(info.id).toBe(createHash("sha256").update("ctrnet").digest("hex"));
      expect(ctx.state().get(id).networks.map((n) => n.network)).toEqual(["ctrnet"]);
      expect(statSync(join(w.confDir, "ctrnet.conflist")).mode & 0o777).toBe(0o644);
      expectError(w.cli(["network", "rm", "ctrnet"]), 2, "default network ctrnet cannot be removed");
    } finally {
      await removeContainer(ctx, id, { force: true }).catch(() => undefined);
      ctx.close();
      run(["ip", "link", "del", "ctaddr0"]);
      if (linkExists("ctrnet0")) run(["ip", "link", "del", "ctrnet0"]);
      // the default network is never removed: what its first container put into ctrnet's table stays with it
      removeNetworkFirewall({ bridge: "ctrnet0", subnets: ["10.89.3.0/24"] });
    }
  });

  test("after a reboot (the bridge gone, the state dir new) the first command makes a native network's reservation again, once per boot", () => {
    const w = world();
    expect(w.cli(["network", "create", "-o", "plugin=ctrnet", "--subnet", "10.231.0.0/24", "rb"])).toMatchObject({ code: 0 });
    const bridge = w.inspect("rb").network_interface;
    const held = () => linkExists(bridge) && run(["ip", "-o", "-4", "addr", "show", "dev", bridge]).out.includes("10.231.0.1/24");
    expect(held()).toBe(true);
    // a reboot takes the bridge, and /run with the state dir's note of the boot whose reservations were made
    run(["ip", "link", "del", bridge]);
    rmSync(join(w.root, "reservations.boot"), { force: true });
    expect(w.cli(["ls"])).toMatchObject({ code: 0 });
    expect(held()).toBe(true);
    expect(run(["ip", "-o", "link", "show", bridge]).out).toContain("state DOWN");
    // within a boot, commands do not look again (two reads): a bridge removed by hand waits for doctor or a create
    run(["ip", "link", "del", bridge]);
    expect(w.cli(["ls"])).toMatchObject({ code: 0 });
    expect(linkExists(bridge)).toBe(false);
  });

  test("picked subnets overlap neither each other, the default network, nor a host route", () => {
    const w = world();
    expect(run(["ip", "route", "add", "10.89.0.0/24", "dev", "lo"]).ok).toBe(true);
    try {
      expect(create(w, ["a"])).toBe("a");
      expect(create(w, ["b"])).toBe("b");
      expect(create(w, ["--ipv6", "c"])).toBe("c");
    } finally {
      run(["ip", "route", "del", "10.89.0.0/24", "dev", "lo"]);
    }
    const [a, b, c] = ["a", "b", "c"].map((n) => w.inspect(n));
    expect(a!.subnets).toEqual([{ subnet: "10.89.1.0/24", gateway: "10.89.1.1" }]);
    expect(b!.subnets).toEqual([{ subnet: "10.89.2.0/24", gateway: "10.89.2.1" }]);
    expect(c!.subnets).toEqual([
      { subnet: "10.89.3.0/24", gateway: "10.89.3.1" },
      { subnet: expect.stringMatching(/^fd[0-9a-f]{2}(:[0-9a-f]{1,4}){0,3}::\/64$/), gateway: expect.stringMatching(/^fd[0-9a-f:]+::1$/) },
    ]);
    expect(c!.ipv6_enabled).toBe(true);
    expect([a, b, c].map((n) => n!.network_interface)).toEqual(["ctrnet1", "ctrnet2", "ctrnet3"]);
    // A network without a name gets the lowest free ctrnetN.
    expect(create(w, [])).toBe("ctrnet1");
  });

  test("concurrent creates never share a subnet, a bridge or a name", async () => {
    const w = world();
    const spawn = (args: string[]) =>
      Bun.spawn([BINARY, "network", "create", ...args], { env: { ...process.env, ...w.env }, stdout: "pipe", stderr: "pipe" });
    const finish = async (p: ReturnType<typeof spawn>) => ({ code: await p.exited, stderr: await new Response(p.stderr).text() });
    const distinct = await Promise.all(Array.from({ length: 6 }, (_, i) => spawn([`p${i}`])).map(finish));
    expect(distinct.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    const infos = [...Array(6).keys()].map((i) => w.inspect(`p${i}`));
    const all = infos;
    for (const [i, x] of all.entries()) {
      for (const y of all.slice(i + 1)) {
        expect({ x: x.name, y: y.name, overlap: cidrs(x).some((s) => cidrs(y).some((t) => subnetsOverlap(s, t))) }).toEqual({ x: x.name, y: y.name, overlap: false });
      }
    }
    expect(new Set(all.map((n) => n.network_interface)).size).toBe(all.length);

    const same = await Promise.all(Array.from({ length: 4 }, () => spawn(["same"])).map(finish));
    expect(same.filter((r) => r.code === 0)).toHaveLength(1);
    expect(same.filter((r) => r.code === 2).map((r) => r.stderr)).toEqual(Array(3).fill("ctrnet: error: network name same already used: network already exists same\n"));
  });

  test("create with every option: inspect shows it in podman's shape", () => {
    const w = world();
    const name = create(w, [
      "--subnet", "10.20.0.0/16",
      "--subnet=fd20::/64",
      "--gateway", "10.20.0.254",
      "--ip-range", "10.20.5.0/24",
      "--internal",
      "--disable-dns",
      "-o", "mtu=1400",
      "--opt", "vlan=12",
      "--interface-name", "br-opts",
      "--label", "team=net",
      "--label", "tier",
      "opts",
    ]);
    expect(w.cli(["network", "inspect", name]).stdout.startsWith("[\n")).toBe(true);
    expect(w.inspect(name)).toEqual({
      name: "opts",
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      driver: "bridge",
      network_interface: "br-opts",
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      // internal without DNS: only the gateway given, as podman's "add gateway when not internal or dns enabled"
      subnets: [{ subnet: "10.20.0.0/16", gateway: "10.20.0.254", lease_range: { start_ip: "10.20.5.1", end_ip: "10.20.5.255" } }, { subnet: "fd20::/64" }],
      ipv6_enabled: true,
      internal: true,
      dns_enabled: false,
      labels: { team: "net", tier: "" },
      options: { mtu: "1400", vlan: "12", ...(TEST_NETWORK_PLUGIN === "cni" ? { plugin: "cni" } : {}) },
      ipam_options: { driver: "host-local" },
      containers: {},
    });
    const conf = JSON.parse(readFileSync(join(w.confDir, "opts.conflist"), "utf8"));
    expect(conf.plugins[0]).toMatchObject({ type: TEST_NETWORK_PLUGIN === "cni" ? "bridge" : "ctrnet", bridge: "br-opts", mtu: 1400, vlan: 12, isGateway: false, ipMasq: false });
    expect(w.files()).toEqual(["opts.conflist"]);
  });

  test("a duplicate name fails with podman's message", () => {
    const w = world();
    create(w, ["web"]);
    const before = readFileSync(join(w.confDir, "web.conflist"), "utf8");
    const r = w.cli(["network", "create", "--subnet", "10.30.0.0/24", "web"]);
    expect(r).toEqual({ code: 2, stdout: "", stderr: "ctrnet: error: network name web already used: network already exists web\n" });
    expect(readFileSync(join(w.confDir, "web.conflist"), "utf8")).toBe(before);
    // podman's --ignore: the name, no error, the network as it was
    expect(w.cli(["network", "create", "--ignore", "--subnet", "10.30.0.0/24", "web"])).toEqual({ code: 0, stdout: "web\n", stderr: "" });
    expect(readFileSync(join(w.confDir, "web.conflist"), "utf8")).toBe(before);
  });

  test("on a host with no state yet, a network create refused for its flags makes no state directory", () => {
    const w = world();
    for (const args of [["bad name"], ["--subnet", "banana", "n"], ["--gateway", "10.89.0.1", "n"], ["--subnet", "10.50.0.0/24", "--route", "nonsense", "n"], ["host"]]) {
      const r = w.cli(["network", "create", ...args]);
      expect({ args, code: r.code, lines: r.stderr.trim().split("\n").length, root: existsSync(w.root) }).toEqual({ args, code: 2, lines: 1, root: false });
    }
  });

  test("bad input: exit 2, one line naming the problem, no file written", () => {
    const w = world();
    create(w, ["--subnet", "10.40.0.0/16", "taken"]);
    writeFileSync(join(w.confDir, "broken.conflist"), '{"cniVersion": "1.0.0", "name": "broken", "plugins": [');
    writeFileSync(join(w.confDir, "pathtype.conflist"), JSON.stringify({ cniVersion: "1.0.0", name: "pathtype", plugins: [{ type: "../../bin/sh" }] }));
    const cases: [string[], string][] = [
      [["network", "create", "bad name"], 'Invalid characters in network name "bad name": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*'],
      [["network", "create", "-x"], "unknown option -x"],
      [["network", "create", ".hidden"], 'Invalid characters in network name ".hidden"'],
      [["network", "create", "--driver", "overlay", "n"], 'failed to find driver or plugin "overlay": use bridge, macvlan, ipvlan'],
      [["network", "create", "--subnet", "10.40.7.0/24", "n"], "subnet 10.40.7.0/24 is already used on the host or by another config: it overlaps subnet 10.40.0.0/16 of network taken"],
      [["network", "create", "--subnet", "10.50.0.0/16", "--subnet", "10.50.1.0/24", "n"], "overlapping subnets 10.50.0.0/16 and 10.50.1.0/24"],
      [["network", "create", "--subnet", "10.50.0.0/33", "n"], 'invalid subnet "10.50.0.0/33"'],
      [["network", "create", "--subnet", "banana", "n"], 'invalid subnet "banana"'],
      [["network", "create", "--subnet", "10.50.0.0/24", "--gateway", "10.51.0.1", "n"], "gateway 10.51.0.1 not in subnet 10.50.0.0/24"],
      [["network", "create", "--subnet", "10.50.0.0/24", "--gateway", "10.50.0.0", "n"], "gateway 10.50.0.0 is not a host address of 10.50.0.0/24"],
      [["network", "create", "--gateway", "10.89.0.1", "n"], "cannot set gateway or range without subnet"],
      [["network", "create", "-o", "mtu=huge", "n"], "invalid --opt mtu=huge: expected an integer"],
      [["network", "create", "-o", "vlan=9999", "n"], "invalid VLAN 9999"],
      [["network", "create", "-o", "color=blue", "n"], 'unsupported bridge network option: color (use mtu'],
      [["network", "create", "--driver", "macvlan", "-o", "parent=nosuch0", "--subnet", "192.168.9.0/24", "n"], "parent interface nosuch0 of the macvlan network does not exist"],
      [["network", "create", "broken"], `network broken: ${w.confDir}/broken.conflist already exists but is not a usable network configuration`],
      [["network", "ls", "--filter", "color=red"], 'invalid filter "color"'],
      [["network", "exists", "bad/name"], 'invalid network name or ID "bad/name"'],
    ];
    // inspect as podman's: the list of networks found (none), then exit 1 naming what is wrong with the file
    for (const [name, message] of [
      ["broken", `unable to find network with name or ID broken: network not found in ${w.confDir} (unusable configuration files: ${w.confDir}/broken.conflist: malformed JSON`],
      ["pathtype", "pathtype.conflist: plugins[0].type: expected a plugin name, not a path"],
    ]) {
      const r = w.cli(["network", "inspect", name!]);
      expect({ code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split("\n").length }).toEqual({ code: 1, stdout: "[]\n", lines: 1 });
      expect(r.stderr).toContain(message!);
    }
    const before = w.files();
    for (const [args, message] of cases) {
      const r = w.cli(args);
      expect({ args, code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split("\n").length }).toEqual({ args, code: 2, stdout: "", lines: 1 });
      expect({ args, stderr: r.stderr }).toEqual({ args, stderr: expect.stringMatching(/^ctrnet: error: /) });
      expect({ args, stderr: r.stderr }).toEqual({ args, stderr: expect.stringContaining(message) });
      expect(w.files()).toEqual(before);
    }
    // The broken files don't stop a listing: each is named once on stderr.
    const ls = w.cli(["network", "ls", "-q"]);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toBe("ctrnet\ntaken\n");
    expect(ls.stderr.trimEnd().split("\n").sort()).toEqual([
      expect.stringMatching(/^ctrnet: warn: skipping .*broken\.conflist: malformed JSON/),
      expect.stringMatching(/^ctrnet: warn: skipping .*pathtype\.conflist: plugins\[0\]\.type/),
    ]);
  });

  test("bad subnets, interfaces, names and addresses: exit 2, one line, nothing made", () => {
    const w = world();
    create(w, ["--subnet", "10.41.0.0/24", "used"]);
    expect(run(["ip", "link", "add", "ctaddr1", "type", "veth", "peer", "name", "ctaddr1p"]).ok).toBe(true);
    try {
      expect(run(["ip", "addr", "add", "192.168.250.1/24", "dev", "ctaddr1"]).ok).toBe(true);
      expect(run(["ip", "link", "set", "ctaddr1", "up"]).ok).toBe(true);
      const long = "n".repeat(253);
      const cases: [string[], string][] = [
        [["network", "create", "--subnet", "192.168.250.0/24", "n"], "subnet 192.168.250.0/24 is already used on the host: it overlaps address 192.168.250.1/24 of interface ctaddr1"],
        [["network", "create", "--subnet", "192.168.0.0/16", "n"], "subnet 192.168.0.0/16 is already used on the host"],
        [["network", "create", "--subnet", "10.60.0.0/31", "n"], 'invalid subnet "10.60.0.0/31": a /31 leaves no room for a gateway and a container'],
        [["network", "create", "--subnet", "10.60.0.0/32", "n"], 'invalid subnet "10.60.0.0/32"'],
        [["network", "create", "--subnet", "::/0", "n"], 'invalid subnet "::/0": it covers every address'],
        [["network", "create", "--subnet", "224.0.0.0/24", "n"], "it overlaps the multicast range 224.0.0.0/4"],
        [["network", "create", "--subnet", "127.0.0.0/24", "n"], "it overlaps the loopback range 127.0.0.0/8"],
        [["network", "create", "--subnet", "169.254.1.0/24", "n"], "it overlaps the link-local range 169.254.0.0/16"],
        [["network", "create", "--subnet", "255.0.0.0/24", "n"], "it overlaps the reserved range 240.0.0.0/4"],
        [["network", "create", "--interface-name", "lo", "n"], "interface lo exists on the host and is not a bridge (a physical or loopback device)"],
        [["network", "create", "--interface-name", "ctaddr1", "n"], "interface ctaddr1 exists on the host and is not a bridge (a veth)"],
        [["network", "create", "--interface-name", "brü0", "n"], 'invalid bridge name "brü0": must be printable ASCII'],
        [["network", "create", long], `network name "${"n".repeat(32)}…" is longer than 128 characters`],
        [["network", "create", "none"], 'cannot create network with name "none" because it conflicts with a valid network mode'],
        [["network", "create", "default"], 'cannot create network with name "default" because it conflicts with a valid network mode'],
        [["network", "create", "--subnet", "10.42.0.0/24", "--gateway", "10.42.0.1", "--gateway", "10.43.0.1", "n"], "cannot set more gateways than subnets"],
        [["create", "--network", "used", "--ip", "10.41.0.0", `c${hex(4)}`], 'IP address 10.41.0.0 is the network address of 10.41.0.0/24, which network "used" never hands out'],
        [["create", "--network", "used", "--ip", "10.41.0.255", `c${hex(4)}`], "IP address 10.41.0.255 is the broadcast address of 10.41.0.0/24"],
      ];
      const before = w.files();
      for (const [args, message] of cases) {
        const r = w.cli(args);
        expect({ args, code: r.code, stdout: r.stdout, lines: r.stderr.trimEnd().split("\n").length }).toEqual({ args, code: 2, stdout: "", lines: 1 });
        expect({ args, stderr: r.stderr }).toEqual({ args, stderr: expect.stringContaining(message) });
        expect(w.files()).toEqual(before);
      }
      expect(JSON.parse(w.cli(["ls", "--format", "json"]).stdout)).toEqual([]);
      expect(linkExists("brü0")).toBe(false);
    } finally {
      run(["ip", "link", "del", "ctaddr1"]);
    }
  });

  test("a conflist whose host-local subnet is not a subnet: ls skips it naming the problem, inspect and create fail naming the file", () => {
    const w = world();
    const file = join(w.confDir, "badipam.conflist");
    mkdirSync(w.confDir, { recursive: true });
    writeFileSync(file, JSON.stringify({ cniVersion: "0.4.0", name: "badipam", plugins: [{ type: "bridge", bridge: "cni-bad0", ipam: { type: "host-local", ranges: [[{ subnet: "10.70.0.1/24" }]] } }] }));
    const why = `${file}: plugins[0].ipam.ranges[0][0].subnet: "10.70.0.1/24" is not a subnet host-local can use`;
    const ls = w.cli(["network", "ls", "-q"]);
    expect(ls).toMatchObject({ code: 0, stdout: "ctrnet\n" });
    expect(ls.stderr).toStartWith(`ctrnet: warn: skipping ${why}`);
    expectInspectError(w.cli(["network", "inspect", "badipam"]), 1, why);
    expectError(w.cli(["create", "--network", "badipam", `c${hex(4)}`]), 2, why);
    expect(JSON.parse(w.cli(["ls", "--format", "json"]).stdout)).toEqual([]);
  });

  test("ids: inspect, exists and rm take an id or a unique prefix; an ambiguous prefix is an error naming it", () => {
    const w = world();
    // Names whose ids share a first hex digit, and one that does not.
    const names = Array.from({ length: 18 }, (_, i) => `id${i}`);
    for (const n of names) create(w, ["--subnet", `10.${100 + names.indexOf(n)}.0.0/24`, n]);
    const ids = new Map(names.map((n) => [n, createHash("sha256").update(n).digest("hex")]));
    for (const [n, id] of ids) expect(w.inspect(n).id).toBe(id);
    const [digit, sharing] = [..."0123456789abcdef"]
      .map((d) => [d, names.filter((n) => ids.get(n)!.startsWith(d))] as const)
      .find(([, n]) => n.length > 1)!;
    expectInspectError(w.cli(["network", "inspect", digit]), 2, `more than one result for network ID ${digit}: it starts the ids of networks ${sharing.join(", ")}`);
    const target = names[0]!;
    const id = ids.get(target)!;
    expect(w.inspect(id).name).toBe(target);
    expect(w.inspect(id.slice(0, 12)).name).toBe(target);
    expect(w.cli(["network", "exists", id.slice(0, 12)]).code).toBe(0);
    expectError(w.cli(["network", "rm", digit]), 2, "more than one result for network ID");
    expect(w.cli(["network", "rm", id.slice(0, 12)])).toEqual({ code: 0, stdout: `${id.slice(0, 12)}\n`, stderr: "" });
    expect(w.files()).not.toContain(`${target}.conflist`);
    expect(w.cli(["network", "exists", id]).code).toBe(1);
    // A container's --network takes an id prefix too, and records the network's name.
    const other = names[1]!;
    const cid = `c${hex(6)}`;
    const bridge = w.inspect(other).network_interface;
    try {
      expect(w.cli(["create", "--network", ids.get(other)!.slice(0, 12), cid]).code).toBe(0);
      expect(JSON.parse(w.cli(["inspect", cid]).stdout)[0].NetworkSettings.Networks).toHaveProperty(other);
      expect(Object.keys(w.inspect(other).containers)).toEqual([cid]);
    } finally {
      w.cli(["rm", "-f", cid]);
      w.cli(["network", "rm", "-f", other]);
      if (linkExists(bridge)) run(["ip", "link", "del", bridge]);
    }
  });

  test("a plugin binary missing from the plugin path: exit 2 naming it, no file written", () => {
    const w = world();
    // the unwritten default network only
    expect(w.cli(["network", "ls", "-q"]).stdout).toBe("ctrnet\n");
    // /usr/lib/cni as seen by this one command: every plugin of a bridge network but the firewall.
    const fake = join(top, `plugins-${hex(3)}`);
    mkdirSync(fake);
    for (const p of ["bridge", "host-local", "portmap", "tuning"]) {
      writeFileSync(join(fake, p), "#!/bin/sh\nexit 1\n");
      chmodSync(join(fake, p), 0o755);
    }
    const masked = (args: string[]) => {
      const r = Bun.spawnSync(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", 'mount --bind "$0" /usr/lib/cni && exec "$@"', fake, BINARY, ...args],
        { env: { ...process.env, ...w.env }, stdout: "pipe", stderr: "pipe" },
      );
      return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    // ctrnet's own plugin, the default, runs in-process and needs no binary
    expect(masked(["network", "create", "native"]).code).toBe(0);
    expect(w.cli(["network", "rm", "native"]).code).toBe(0);
    expectError(masked(["network", "create", "-o", "plugin=cni", "nofw"]), 2, 'plugin binary "firewall" needed by network nofw not found in /usr/lib/cni:/opt/cni/bin');
    run(["ip", "link", "add", "ctparent0", "type", "veth", "peer", "name", "ctparent0p"]);
    try {
      // ctrnet's own plugin serves macvlan networks too; the reference one is asked for with plugin=cni
      expectError(masked(["network", "create", "-d", "macvlan", "-o", "parent=ctparent0", "-o", "plugin=cni", "--subnet", "192.168.77.0/24", "nomac"]), 2, 'plugin binary "macvlan" needed by network nomac not found');
    } finally {
      run(["ip", "link", "del", "ctparent0"]);
    }
    expect(w.files()).toEqual([]);
  });

  test("ls: sorted by name, table, --quiet, --format json, --filter name= driver= label=", () => {
    const w = world();
    run(["ip", "link", "add", "ctparent1", "type", "veth", "peer", "name", "ctparent1p"]);
    try {
      create(w, ["--label", "team=b", "zeta"]);
      create(w, ["--label", "team=a", "--label", "env=prod", "alpha"]);
      create(w, ["-d", "macvlan", "-o", "parent=ctparent1", "--subnet", "192.168.50.0/24", "--label", "team=a", "mid"]);
    } finally {
      run(["ip", "link", "del", "ctparent1"]);
    }
    const table = w.cli(["network", "ls"]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NETWORK ID {4}NAME {3,}DRIVER$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/))).toEqual([
      [w.inspect("alpha").id.slice(0, 12), "alpha", "bridge"],
      [w.inspect("ctrnet").id.slice(0, 12), "ctrnet", "bridge"],
      [expect.stringMatching(/^[0-9a-f]{12}$/), "mid", "macvlan"],
      [expect.stringMatching(/^[0-9a-f]{12}$/), "zeta", "bridge"],
    ]);
    const names = (...args: string[]) => {
      const r = w.cli(["network", "ls", "--quiet", ...args]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      return r.stdout.split("\n").filter(Boolean);
    };
    expect(names()).toEqual(["alpha", "ctrnet", "mid", "zeta"]);
    expect(names("--filter", "name=^[a-m]")).toEqual(["alpha", "ctrnet", "mid"]);
    expect(names("--filter", "driver=macvlan")).toEqual(["mid"]);
    expect(names("-f", "label=team=a")).toEqual(["alpha", "mid"]);
    expect(names("-f", "label=team", "-f", "driver=bridge")).toEqual(["alpha", "zeta"]);
    // labels AND as podman's (name, id and driver values OR)
    expect(names("-f", "label=env", "-f", "label=team=b")).toEqual([]);
    expect(names("-f", "label=env", "-f", "label=team=a")).toEqual(["alpha"]);
    expect(names("-f", "name=^alpha$", "-f", "name=^zeta$")).toEqual(["alpha", "zeta"]);
    const json = JSON.parse(w.cli(["network", "ls", "--format", "json", "--filter", "name=mid"]).stdout) as NetworkInfo[];
    const { containers, ...mid } = w.inspect("mid");
    expect(containers).toEqual({});
    expect(json).toEqual([mid]);
    expect(json[0]).toMatchObject({ driver: "macvlan", network_interface: "ctparent1", labels: { team: "a" }, options: {} });
  });

  test("inspect and exists", () => {
    const w = world();
    create(w, ["one"]);
    create(w, ["two"]);
    const both = JSON.parse(w.cli(["network", "inspect", "two", "one"]).stdout) as NetworkInfo[];
    expect(both.map((n) => n.name)).toEqual(["two", "one"]);
    // as podman: the networks found are printed, then the command fails naming the missing one
    const partial = w.cli(["network", "inspect", "nope", "one"]);
    expect(partial.code).toBe(1);
    expect((JSON.parse(partial.stdout) as NetworkInfo[]).map((n) => n.name)).toEqual(["one"]);
    expect(partial.stderr).toStartWith('ctrnet: error: inspecting object: network nope: unable to find network with name or ID nope: network not found');
    expect(w.cli(["network", "exists", "one"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(w.cli(["network", "exists", w.inspect("two").id.slice(0, 12)])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(w.cli(["network", "exists", "nope"])).toEqual({ code: 1, stdout: "", stderr: "" });
  });

  test("rm refuses a network a container uses, names it, and keeps the network", () => {
    const w = world();
    create(w, ["busy"]);
    const id = `c${hex(8)}`;
    const state = openState({ root: w.root });
    try {
      state.insert(newContainerRecord({ id, mode: { kind: "bridge" }, networks: [{ network: "busy" }] }));
      expect(w.cli(["network", "rm", "busy"])).toEqual({
        code: 2,
        stdout: "",
        stderr: `ctrnet: error: "busy" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used by ${id}\n`,
      });
      expect(w.files()).toContain("busy.conflist");
      // dangling: whether no container uses the network
      expect(w.cli(["network", "ls", "-q", "--filter", "dangling=false"]).stdout).toBe("busy\n");
      expect(w.cli(["network", "ls", "-q", "--filter", "dangling=true"]).stdout).toBe("ctrnet\n");
      const prune = w.cli(["network", "prune"]);
      expect(prune).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(w.files()).toContain("busy.conflist");
    } finally {
      state.remove(id);
      state.close();
    }
    // as podman's network rm: an unknown network exits 1, a network in use 2
    expectError(w.cli(["network", "rm", "nope"]), 1, 'unable to find network with name or ID nope: network not found');
    // podman's rm -f: a network that is not there is no error, and nothing is printed for it
    create(w, ["gone"]);
    expect(w.cli(["network", "rm", "-f", "nope", "gone"])).toEqual({ code: 0, stdout: "gone\n", stderr: "" });
  });

  test("prune removes every unused network but the default and prints their names", () => {
    const w = world();
    for (const n of ["p2", "p1", "p3"]) create(w, [n]);
    const id = `c${hex(8)}`;
    const state = openState({ root: w.root });
    try {
      state.insert(newContainerRecord({ id, mode: { kind: "bridge" }, networks: [{ network: "p3" }] }));
      expect(w.cli(["network", "prune", "-f"])).toEqual({ code: 0, stdout: "p1\np2\n", stderr: "" });
      expect(w.files()).toEqual(["p3.conflist"]);
    } finally {
      state.remove(id);
      state.close();
    }
    expect(w.cli(["network", "prune"])).toEqual({ code: 0, stdout: "p3\n", stderr: "" });
  });

  test("a created network with the plugins: ADD, CHECK and DEL round-trip; rm removes the bridge and the allocations", async () => {
    const w = world();
    // the reference chain's iptables rules are checked: its own network
    const name = create(w, ["-o", "plugin=cni", "--ipv6", `rt-${hex(3)}`]);
    const info = w.inspect(name);
    const bridge = info.network_interface;
    await removingBridges(w, [name], async () => {
      const cni = w.runtime();
      const network = await cni.loadNetwork(name);
      const containerId = `ctr-${hex(6)}`;
      const ns = createNetns({ name: `ctrnet-net-${hex(4)}`, dir: netnsDir });
      const hostPort = 20000 + Number.parseInt(hex(1), 16);
      const req = { network, containerId, netnsPath: ns.path, ifName: "eth0" };
      try {
        const result = await cni.add({ ...req, capabilityArgs: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] } });
        const [v4, v6] = result.ips.map((i) => i.address.split("/")[0]!) as [string, string];
        expect(result.ips.map((i) => i.address)).toEqual([`${v4}/24`, `${v6}/64`]);
        expect(result.ips.map((i) => i.gateway)).toEqual(info.subnets.map((s) => s.gateway));
        expect(containerAddresses(ns.path, "eth0")).toContain(`inet ${v4}/24`);
        expect(hostVeths()).toHaveLength(1);
        expect(linkExists(bridge)).toBe(true);
        expect(firewallLinesMentioning(`--to-destination ${v4}:80`)).toHaveLength(1);
        expect(ipamAllocations(w.ipamDir, name).sort()).toEqual([v4, v6].sort());
        const cacheFile = join(w.cacheDir, "results", `${name}-${containerId}-eth0`);
        expect(existsSync(cacheFile)).toBe(true);

        await cni.check(req);
        await cni.del(req);

        expect(hostVeths()).toEqual([]);
        expect(firewallLinesMentioning(containerId, `${v4}/`, `${v4}:`)).toEqual([]);
        expect(perContainerChains()).toEqual([]);
        expect(ipamAllocations(w.ipamDir, name)).toEqual([]);
        expect(existsSync(cacheFile)).toBe(false);
      } finally {
        await cni.del(req).catch(() => undefined);
        removeNetns(ns.path);
      }
      expect(w.cli(["network", "rm", name])).toEqual({ code: 0, stdout: `${name}\n`, stderr: "" });
      expect(linkExists(bridge)).toBe(false);
      expect(existsSync(join(w.ipamDir, name))).toBe(false);
      expect(w.files()).toEqual([]);
    });
  });

  test("a created network with the plugins: GC with one of two attachments valid removes the other's rules and address", async () => {
    const w = world();
    const name = create(w, ["-o", "plugin=cni", `gc-${hex(3)}`]);
    await removingBridges(w, [name], async () => {
      const cni = w.runtime();
      const network = await cni.loadNetwork(name);
      const [keep, stale] = [`keep-${hex(4)}`, `stale-${hex(4)}`];
      const [keepNs, staleNs] = [keep, stale].map((id) => createNetns({ name: `ctrnet-${id}`, dir: netnsDir }));
      const mapping = (port: number) => ({ portMappings: [{ hostPort: port, containerPort: 80, protocol: "tcp" }] });
      try {
        const kept = await cni.add({ network, containerId: keep, netnsPath: keepNs!.path, ifName: "eth0", capabilityArgs: mapping(21011) });
        const gone = await cni.add({ network, containerId: stale, netnsPath: staleNs!.path, ifName: "eth0", capabilityArgs: mapping(21012) });
        const keepIp = kept.ips[0]!.address.split("/")[0]!;
        const staleIp = gone.ips[0]!.address.split("/")[0]!;

        expect(await cni.gc(network, [{ containerId: keep, ifName: "eth0" }])).toEqual([{ network: name, containerId: stale, ifName: "eth0" }]);

        expect(firewallLinesMentioning(stale, `${staleIp}/`, `${staleIp}:`)).toEqual([]);
        expect(firewallLinesMentioning(keep).length).toBeGreaterThan(0);
        expect(ipamAllocations(w.ipamDir, name)).toEqual([keepIp]);
        await cni.del({ network, containerId: keep, netnsPath: keepNs!.path, ifName: "eth0" });
        expect(perContainerChains()).toEqual([]);
        expect(ipamAllocations(w.ipamDir, name)).toEqual([]);
      } finally {
        for (const [id, ns] of [[keep, keepNs!], [stale, staleNs!]] as const) {
          await cni.del({ network, containerId: id, netnsPath: ns.path, ifName: "eth0" }).catch(() => undefined);
          removeNetns(ns.path);
        }
      }
    });
  });

  test("a created macvlan network with the plugins: ADD, CHECK and DEL on a veth parent", async () => {
    const w = world();
    const parent = `ctmv${hex(2)}`;
    expect(run(["ip", "link", "add", parent, "type", "veth", "peer", "name", `${parent}p`]).ok).toBe(true);
    try {
      run(["ip", "link", "set", parent, "up"]);
      const name = create(w, ["-d", "macvlan", "-o", "plugin=cni", "--interface-name", parent, "--subnet", "192.168.60.0/24", `mv-${hex(3)}`]);
      const cni = w.runtime();
      const network = await cni.loadNetwork(name);
      const ns = createNetns({ name: `ctrnet-mv-${hex(4)}`, dir: netnsDir });
      const req = { network, containerId: `ctr-${hex(6)}`, netnsPath: ns.path, ifName: "eth0" };
      try {
        const result = await cni.add(req);
        expect(result.ips.map((i) => i.address)).toEqual(["192.168.60.2/24"]);
        expect(containerAddresses(ns.path, "eth0")).toContain("inet 192.168.60.2/24");
        await cni.check(req);
        await cni.del(req);
        expect(ipamAllocations(w.ipamDir, name)).toEqual([]);
        expect(inNetns(ns.path, ["ip", "link", "show", "eth0"]).ok).toBe(false);
      } finally {
        await cni.del(req).catch(() => undefined);
        removeNetns(ns.path);
      }
      expect(w.cli(["network", "rm", name]).code).toBe(0);
      expect(linkExists(parent)).toBe(true);
    } finally {
      run(["ip", "link", "del", parent]);
    }
  });

  test("rm -f takes the network off the containers using it, then removes it and its bridge", async () => {
    const w = world();
    // DNS off: this process is a test runner, which cannot start ctrnet _dns as ctrnet would
    const name = create(w, ["--disable-dns", `forced-${hex(3)}`]);
    const bridge = w.inspect(name).network_interface;
    const ctx = createContext({ root: w.root, netnsDir, cniConfigDir: w.confDir, cniCacheDir: w.cacheDir });
    const id = `c${hex(8)}`;
    await removingBridges(w, [name], async () => {
      try {
        await createContainer(ctx, { id, name: `web-${id}`, network: name });
        expect(hostVeths()).toHaveLength(1);
        // podman 5's shape: the container's name, and per interface its addresses and MAC.
        const settings = JSON.parse(w.cli(["inspect", id]).stdout)[0].NetworkSettings;
        expect(w.inspect(w.inspect(name).id.slice(0, 12)).containers).toEqual({
          [id]: {
            name: `web-${id}`,
            interfaces: {
              eth0: { subnets: [{ ipnet: `${settings.IPAddress}/${settings.IPPrefixLen}`, gateway: settings.Gateway }], mac_address: settings.MacAddress },
            },
          },
        });
        expectError(w.cli(["network", "rm", name]), 2, `"${name}" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used by ${id}`);

        expect(w.cli(["network", "rm", "-f", name])).toEqual({ code: 0, stdout: `${name}\n`, stderr: "" });

        expect(ctx.state().get(id).networks).toEqual([]);
        expect(hostVeths()).toEqual([]);
        expect(linkExists(bridge)).toBe(false);
        expect(ipamAllocations(w.ipamDir, name)).toEqual([]);
        expect(perContainerChains()).toEqual([]);
        expect(w.files()).toEqual([]);
      } finally {
        await removeContainer(ctx, id, { force: true }).catch(() => undefined);
        ctx.close();
      }
    });
  });
});
