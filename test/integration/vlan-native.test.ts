// macvlan and ipvlan networks served by ctrnet's own plugin (`{"type": "ctrnet", "driver": "macvlan"}`):
// the parent is one end of a veth pair whose other end is in a "LAN" netns holding the LAN's gateway
// address. Containers get a link on the parent in their own netns, reach each other and the LAN with
// their own addresses (nothing NATed), publish nothing, and rm leaves no link, lease, record or nft table.
// The same plugin driven as runtimes drive it (the binary with CNI_COMMAND set). No ipvlan in this
// kernel: those tests skip where it cannot make one.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BINARY, ensureBinary } from "../helpers/binary.ts";
import { hex, Installation, privileged, run } from "./lifecycle-helpers.ts";

const hasIpvlan = (() => {
  if (!privileged) return false;
  const probe = `ivp${hex(3)}`;
  if (!run(["ip", "link", "add", probe, "type", "dummy"]).ok) return false;
  const ok = run(["ip", "link", "add", "link", probe, "name", `${probe}i`, "type", "ipvlan", "mode", "l2"]).ok;
  run(["ip", "link", "del", probe]);
  return ok;
})();

const cleanups: (() => void)[] = [];
const servers: Subprocess[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.kill("SIGKILL");
    await s.exited;
  }
  for (const step of cleanups.splice(0).reverse()) step();
});

interface Lan {
  /** The parent interface, in the runner's netns. */
  parent: string;
  /** The LAN's netns (in /run/netns). */
  netns: string;
  prefix: string;
  subnet: string;
  /** The LAN peer's address, the containers' gateway. */
  peer: string;
}

/** A parent whose LAN is a netns at the other end of a veth pair, with the gateway's address there. */
function lan(): Lan {
  const id = hex(2);
  const parent = `mvp${id}`;
  const netns = `mvlan-${process.pid}-${id}`;
  const prefix = `192.168.${100 + (Number.parseInt(id, 16) % 150)}`;
  expect(run(["ip", "netns", "add", netns]).ok).toBe(true);
  cleanups.push(() => run(["ip", "netns", "del", netns]));
  expect(run(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan0", "netns", netns]).ok).toBe(true);
  cleanups.push(() => run(["ip", "link", "del", parent]));
  run(["ip", "link", "set", parent, "up"]);
  run(["ip", "-n", netns, "link", "set", "lo", "up"]);
  run(["ip", "-n", netns, "addr", "add", `${prefix}.1/24`, "dev", "lan0"]);
  run(["ip", "-n", netns, "link", "set", "lan0", "up"]);
  return { parent, netns, prefix, subnet: `${prefix}.0/24`, peer: `${prefix}.1` };
}

const inNetns = (path: string, argv: string[]) => run(["nsenter", `--net=${path}`, ...argv]);
const lanPath = (l: Lan) => `/run/netns/${l.netns}`;

/** A TCP server in the netns that answers each connection with its peer's address. */
async function echoServer(netnsPath: string, port: number): Promise<void> {
  const server = Bun.spawn(["nsenter", `--net=${netnsPath}`, "socat", `TCP-LISTEN:${port},fork,reuseaddr`, "SYSTEM:echo $SOCAT_PEERADDR"], {
    stdout: "ignore",
    stderr: "ignore",
  });
  servers.push(server);
  for (let i = 0; i < 100; i++) {
    if (inNetns(netnsPath, ["ss", "-Hltn", `sport = :${port}`]).out.includes(`:${port}`)) return;
    await Bun.sleep(20);
  }
  throw new Error(`server on ${port} did not start`);
}

/** The address the server saw this netns connect from, or null when nothing answered. */
function askFrom(netnsPath: string, host: string, port: number): string | null {
  const r = Bun.spawnSync(["nsenter", `--net=${netnsPath}`, "curl", "-s", "--max-time", "3", `telnet://${host}:${port}`], {
    stdin: Buffer.from(""),
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = r.stdout.toString().trim();
  return r.exitCode === 0 && out ? out : null;
}

function leasesOf(dir: string, network: string): string[] {
  const d = join(dir, network);
  return existsSync(d) ? readdirSync(d).filter((f) => /^\d/.test(f)).sort() : [];
}

/** A failure is one `ctrnet: error: …` line on stderr, exit 2 and nothing on stdout. */
function expectUsageError(r: { code: number | null; stdout: string; stderr: string }, message: string): void {
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining(message)]);
}

describe.skipIf(!privileged)("macvlan and ipvlan networks served by ctrnet's plugin", () => {
  let inst: Installation;

  beforeAll(() => ensureBinary());

  afterEach(() => {
    inst?.removeAll();
    inst?.dispose();
  });

  const conflist = (name: string) => JSON.parse(readFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${name}.conflist`), "utf8"));
  const sandbox = (id: string): string => inst.inspect(id).NetworkSettings.SandboxKey;
  const addressOf = (id: string): string => inst.inspect(id).NetworkSettings.IPAddress;

  async function twoContainersOnTheLan(driver: "macvlan" | "ipvlan", mode: string): Promise<void> {
    inst = new Installation();
    const l = lan();
    const name = `${driver}-${hex(3)}`;
    expect(inst.ok(["network", "create", "-d", driver, "-o", `parent=${l.parent}`, "-o", `mode=${mode}`, "-o", "mtu=1400", "--subnet", l.subnet, "--gateway", l.peer, name])).toBe(`${name}\n`);
    const plugin = conflist(name).plugins;
    expect(plugin).toEqual([
      {
        type: "ctrnet",
        driver,
        master: l.parent,
        mode,
        mtu: 1400,
        capabilities: driver === "macvlan" ? { ips: true, mac: true } : { ips: true },
        ipam: { type: "host-local", ranges: [[{ subnet: l.subnet, gateway: l.peer }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: inst.ipamDir },
      },
    ]);
    // podman's shape, driver and parent as podman names them
    const info = JSON.parse(inst.ok(["network", "inspect", name]))[0];
    expect(info).toMatchObject({ driver, network_interface: l.parent, internal: false, dns_enabled: false, options: { mode, mtu: "1400" } });
    expect(inst.ok(["network", "ls", "--filter", `driver=${driver}`, "--quiet"])).toBe(`${name}\n`);

    // ports are not published on these networks, as with podman's: the command succeeds, nothing listens
    inst.ok(["create", "--network", name, "-p", "18080:80", "a"]);
    inst.ok(["create", "--network", name, "--ip", `${l.prefix}.50`, "b"]);
    expect(addressOf("b")).toBe(`${l.prefix}.50`);
    const [a, b] = [addressOf("a"), `${l.prefix}.50`];
    const link = JSON.parse(inNetns(sandbox("a"), ["ip", "-j", "-d", "link", "show", "eth0"]).out)[0];
    expect({ kind: link.linkinfo.info_kind, mode: link.linkinfo.info_data.mode, mtu: link.mtu }).toEqual({ kind: driver, mode, mtu: 1400 });
    expect(inNetns(sandbox("a"), ["ip", "route", "show", "default"]).out).toContain(`default via ${l.peer} dev eth0`);
    // announced as it comes up, whatever the address's history: the LAN's other hosts are not ctrnet's
    expect(inNetns(sandbox("a"), ["cat", "/proc/sys/net/ipv4/conf/eth0/arp_notify"]).out).toBe("1\n");
    expect(run(["nft", "list", "table", "inet", "ctrnet"]).ok).toBe(false);
    expect(leasesOf(inst.ipamDir, name)).toEqual([a, b].sort());

    // container to container, container to the LAN, the LAN to a container: each sees the other's own address
    await echoServer(sandbox("b"), 7001);
    expect(askFrom(sandbox("a"), b, 7001)).toBe(a);
    await echoServer(lanPath(l), 7002);
    expect(askFrom(sandbox("a"), l.peer, 7002)).toBe(a);
    await echoServer(sandbox("a"), 7003);
    expect(askFrom(lanPath(l), a, 7003)).toBe(l.peer);

    inst.ok(["rm", "a", "b"]);
    expect(leasesOf(inst.ipamDir, name)).toEqual([]);
    expect(readdirSync(join(inst.env.CTRNET_ROOT!, "vlan"))).toEqual([]);
    inst.ok(["network", "rm", name]);
    expect(existsSync(join(inst.ipamDir, name))).toBe(false);
    // the parent is the user's: it stays
    expect(run(["ip", "link", "show", l.parent]).ok).toBe(true);
  }

  test("macvlan: two containers reach each other and the parent's LAN with their own addresses; rm leaves nothing", () =>
    twoContainersOnTheLan("macvlan", "bridge"));

  test.skipIf(!hasIpvlan)("ipvlan: the same in l2 mode", () => twoContainersOnTheLan("ipvlan", "l2"));

  test("bad parent, mode or option: exit 2, one line, nothing made; -o plugin=cni keeps the reference plugins", () => {
    inst = new Installation();
    const l = lan();
    const bad: [string[], string][] = [
      [["-d", "macvlan", "-o", "parent=nosuch0", "--subnet", "192.168.9.0/24"], "parent interface nosuch0 of the macvlan network does not exist"],
      [["-d", "ipvlan", "-o", "parent=nosuch0", "--subnet", "192.168.9.0/24"], "parent interface nosuch0 of the ipvlan network does not exist"],
      [["-d", "macvlan", "-o", `parent=${l.parent}`, "-o", "mode=l2", "--subnet", "192.168.9.0/24"], "invalid --opt mode=l2 for the macvlan driver: use one of bridge, private, vepa, passthru"],
      [["-d", "ipvlan", "-o", `parent=${l.parent}`, "-o", "mode=vepa", "--subnet", "192.168.9.0/24"], "invalid --opt mode=vepa for the ipvlan driver: use one of l2, l3, l3s"],
      [["-d", "macvlan", "-o", `parent=${l.parent}`, "-o", "plugin=x", "--subnet", "192.168.9.0/24"], "invalid --opt plugin=x: use ctrnet or cni"],
      [["-d", "macvlan", "-o", `parent=${l.parent}`, "-o", "vlan=3", "--subnet", "192.168.9.0/24"], 'unsupported macvlan network option: vlan'],
      [["-d", "macvlan", "-o", `parent=${l.parent}`, "--ipam-driver", "host-local"], "a macvlan network needs --subnet"],
      [["-d", "macvlan", "-o", `parent=${l.parent}`, "--ipam-driver", "dhcp", "--subnet", "192.168.9.0/24"], "the dhcp ipam driver takes no --subnet, --gateway or --ip-range"],
      [["-d", "macvlan", "-o", `parent=${l.parent}`, "-o", "plugin=ctrnet"], "the dhcp ipam driver needs the reference macvlan plugin: -o plugin=cni"],
      [["--ipam-driver", "dhcp"], "cannot use dhcp ipam driver without using the option mode=unmanaged"],
      [["-d", "macvlan", "-o", `parent=${l.parent}`, "--ipam-driver", "none"], 'unsupported ipam driver "none"'],
      [["--ipam-driver", "none", "--subnet", "10.9.9.0/24"], "the none ipam driver takes no --subnet, --gateway, --ip-range, --route or --ipv6"],
    ];
    for (const [args, message] of bad) expectUsageError(inst.cli(["network", "create", ...args, "n"]), message);
    expect(readdirSync(inst.env.CTRNET_CNI_CONFIG_DIR!)).toEqual([]);

    inst.ok(["network", "create", "-d", "macvlan", "-o", `parent=${l.parent}`, "-o", "plugin=cni", "--subnet", l.subnet, "refmv"]);
    expect(conflist("refmv").plugins.map((p: { type: string }) => p.type)).toEqual(["macvlan", "tuning"]);
    inst.ok(["network", "create", "-d", "ipvlan", "-o", `parent=${l.parent}`, "-o", "plugin=cni", "--subnet", "192.168.9.0/24", "refiv"]);
    expect(conflist("refiv").plugins.map((p: { type: string }) => p.type)).toEqual(["ipvlan"]);
    expect(JSON.parse(inst.ok(["network", "inspect", "refmv", "refiv"])).map((n: { driver: string }) => n.driver)).toEqual(["macvlan", "ipvlan"]);
    inst.ok(["network", "rm", "refmv", "refiv"]);
  });

  test("--route and -o no_default_route on a macvlan network: the static route only, through the LAN's router, in the plugin's result too", () => {
    inst = new Installation();
    const l = lan();
    const name = `mvr-${hex(3)}`;
    inst.ok(["network", "create", "-d", "macvlan", "-o", `parent=${l.parent}`, "-o", "no_default_route=true", "--route", `10.203.0.0/16,${l.peer},5`, "--subnet", l.subnet, "--gateway", l.peer, name]);
    expect(conflist(name).plugins[0].ipam.routes).toEqual([{ dst: "10.203.0.0/16", gw: l.peer, priority: 5 }]);
    inst.ok(["create", "--network", name, "r"]);
    expect(inNetns(sandbox("r"), ["ip", "route", "show", "default"]).out.trim()).toBe("");
    expect(inNetns(sandbox("r"), ["ip", "route", "show", "10.203.0.0/16"]).out).toContain(`10.203.0.0/16 via ${l.peer} dev eth0 metric 5`);
    // the plugin's result names the static route too, as the bridge's does (CNI 1.0: no priority field)
    const cached = JSON.parse(readFileSync(join(inst.env.CTRNET_CNI_CACHE_DIR!, "results", `${name}-r-eth0`), "utf8"));
    expect(cached.result.routes).toEqual([{ dst: "10.203.0.0/16", gw: l.peer }]);
    inst.ok(["rm", "r"]);
    inst.ok(["network", "rm", name]);
  });

  test("no --subnet, as podman's: the dhcp ipam driver through the reference plugin; without CNI's dhcp daemon an attach is refused, nothing made; with it the LAN's DHCP server gives the address", async () => {
    inst = new Installation();
    const l = lan();
    const name = `mvd-${hex(3)}`;
    expect(inst.ok(["network", "create", "-d", "macvlan", "-o", `parent=${l.parent}`, name])).toBe(`${name}\n`);
    const info = JSON.parse(inst.ok(["network", "inspect", name]))[0];
    expect({ driver: info.driver, iface: info.network_interface, ipam: info.ipam_options, subnets: info.subnets }).toEqual({ driver: "macvlan", iface: l.parent, ipam: { driver: "dhcp" }, subnets: [] });
    expect(conflist(name).plugins.map((p: { type: string; ipam?: { type: string } }) => [p.type, p.ipam?.type])).toEqual([["macvlan", "dhcp"], ["tuning", undefined]]);
    // podman's e2e: no device name, no subnet: the interface stays empty
    const bare = `mvb-${hex(3)}`;
    inst.ok(["network", "create", "-d", "macvlan", bare]);
    expect(inst.ok(["network", "inspect", bare, "--format", "{{.NetworkInterface}}|{{.IPAMOptions}}"])).toBe("|map[driver:dhcp]\n");
    inst.ok(["network", "rm", bare]);

    const refused = inst.cli(["create", "--network", name, `d-${hex(3)}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("CNI's dhcp daemon is not running (no /run/cni/dhcp.sock)");
    expect(JSON.parse(inst.ok(["ls", "--format", "json"]))).toEqual([]);

    mkdirSync("/run/cni", { recursive: true });
    const daemon = Bun.spawn(["/usr/lib/cni/dhcp", "daemon"], { stdio: ["ignore", "ignore", "ignore"] });
    servers.push(daemon);
    cleanups.push(() => rmSync("/run/cni/dhcp.sock", { force: true }));
    const dnsmasq = Bun.spawn(
      ["ip", "netns", "exec", l.netns, "dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--interface=lan0", "--bind-interfaces", `--dhcp-range=${l.prefix}.50,${l.prefix}.60,1h`, "--pid-file=", "--user=root", "--group=root", `--dhcp-leasefile=${join(inst.dir, "leases")}`],
      { stdio: ["ignore", "ignore", "ignore"] },
    );
    servers.push(dnsmasq);
    for (let i = 0; i < 100 && !existsSync("/run/cni/dhcp.sock"); i++) await Bun.sleep(20);
    const id = `d-${hex(3)}`;
    inst.ok(["create", "--network", name, id]);
    const address = addressOf(id);
    expect(Number(address.split(".")[3])).toBeGreaterThanOrEqual(50);
    expect(Number(address.split(".")[3])).toBeLessThanOrEqual(60);
    expect(address.startsWith(`${l.prefix}.`)).toBe(true);
    inst.ok(["rm", id]);
    inst.ok(["network", "rm", name]);
  });

  test("no parent, as podman's: the interface of the host's default route at each attach; none, one line", async () => {
    inst = new Installation();
    const l = lan();
    const name = `mvd-${hex(3)}`;
    inst.ok(["network", "create", "-d", "macvlan", "--subnet", l.subnet, "--gateway", l.peer, name]);
    expect(conflist(name).plugins[0]).not.toHaveProperty("master");
    expect(JSON.parse(inst.ok(["network", "inspect", name]))[0]).toMatchObject({ driver: "macvlan", network_interface: "", options: {} });
    const refused = inst.cli(["create", "--network", name, "nodefault"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trimEnd().split("\n")).toEqual([expect.stringContaining(`macvlan network ${name} names no parent interface and the host has no default route: create it with -o parent=IFACE`)]);
    // the route goes with the parent (cleanups)
    expect(run(["ip", "route", "add", "default", "dev", l.parent]).ok).toBe(true);
    inst.ok(["create", "--network", name, "a"]);
    await echoServer(lanPath(l), 7005);
    expect(askFrom(sandbox("a"), l.peer, 7005)).toBe(addressOf("a"));
    inst.ok(["rm", "a"]);
    expect(leasesOf(inst.ipamDir, name)).toEqual([]);
    inst.ok(["network", "rm", name]);
  });

  test("kill -9 at each point of a macvlan attach, then ctrnet gc: no lease, record, netns or container left; another container stays whole", () => {
    inst = new Installation();
    const l = lan();
    const name = `mvk-${hex(3)}`;
    inst.ok(["network", "create", "-d", "macvlan", "-o", `parent=${l.parent}`, "--subnet", l.subnet, name]);
    const keep = `keep-${hex(3)}`;
    inst.ok(["create", "--network", name, keep]);
    const records = () => (existsSync(join(inst.env.CTRNET_ROOT!, "vlan")) ? readdirSync(join(inst.env.CTRNET_ROOT!, "vlan")) : []);
    const before = { leases: leasesOf(inst.ipamDir, name), records: records(), netns: readdirSync(inst.env.CTRNET_NETNS_DIR!) };
    expect(before.leases).toHaveLength(1);
    for (const point of ["ipam", "link", "record"]) {
      const id = `kill-${point}-${hex(2)}`;
      const r = Bun.spawnSync([BINARY, "create", "--network", name, id], { env: { ...process.env, ...inst.env, CTRNET_TEST_CRASH_AT: point }, stdout: "pipe", stderr: "pipe" });
      expect({ point, signal: r.signalCode }).toEqual({ point, signal: "SIGKILL" });
      const gc = inst.cli(["gc"]);
      expect({ point, code: gc.code, stderr: gc.stderr }).toEqual({ point, code: 0, stderr: "" });
      expect(gc.stdout).toContain(`removed container ${id}`);
      expect({ point, leases: leasesOf(inst.ipamDir, name), records: records(), netns: readdirSync(inst.env.CTRNET_NETNS_DIR!) }).toEqual({ point, ...before });
    }
    expect(JSON.parse(inst.ok(["ls", "--format", "json"])).map((c: { id: string }) => c.id)).toEqual([keep]);
    inst.ok(["rm", keep]);
    inst.ok(["network", "rm", name]);
  });

  test("as a CNI plugin: ADD, CHECK, DEL and GC on a macvlan network, executed as runtimes execute it", async () => {
    inst = new Installation();
    const l = lan();
    const root = mkdtempSync(join(tmpdir(), "ctrnet-vlan-plugin-"));
    const dataDir = mkdtempSync(join(tmpdir(), "ctrnet-vlan-ipam-"));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const config = {
      cniVersion: "1.1.0",
      name: "pmv",
      type: "ctrnet",
      driver: "macvlan",
      master: l.parent,
      mode: "bridge",
      ipam: { type: "host-local", ranges: [[{ subnet: l.subnet, gateway: l.peer }]], routes: [{ dst: "0.0.0.0/0" }], dataDir },
    };
    const plugin = (command: string, env: Record<string, string>, conf: Record<string, unknown> = config) => {
      const r = Bun.spawnSync([BINARY], {
        env: { PATH: process.env.PATH!, CTRNET_ROOT: root, CNI_COMMAND: command, CNI_PATH: "/usr/lib/cni", ...env },
        stdin: Buffer.from(JSON.stringify(conf)),
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = r.stdout.toString();
      return { code: r.exitCode, out: out.trim() ? JSON.parse(out) : undefined };
    };
    const containers = ["one", "two"].map((tag) => {
      const name = `mvc-${process.pid}-${hex(2)}-${tag}`;
      expect(run(["ip", "netns", "add", name]).ok).toBe(true);
      cleanups.push(() => run(["ip", "netns", "del", name]));
      return { id: `ctr${tag}${hex(4)}`, path: `/run/netns/${name}` };
    });
    const [one, two] = containers as [(typeof containers)[0], (typeof containers)[0]];
    const envOf = (c: { id: string; path: string }) => ({ CNI_CONTAINERID: c.id, CNI_NETNS: c.path, CNI_IFNAME: "net1" });

    const added = plugin("ADD", { ...envOf(one), CNI_ARGS: `IgnoreUnknown=1;MAC=02:42:c0:a8:00:09` });
    expect(added.code).toBe(0);
    expect(added.out).toEqual({
      cniVersion: "1.1.0",
      interfaces: [{ name: "net1", mac: "02:42:c0:a8:00:09", sandbox: one.path }],
      ips: [{ address: `${l.prefix}.2/24`, gateway: l.peer, interface: 0 }],
      routes: [{ dst: "0.0.0.0/0", gw: l.peer }],
      dns: {},
    });
    expect(plugin("ADD", envOf(two)).code).toBe(0);
    expect(plugin("CHECK", envOf(one), { ...config, prevResult: added.out }).code).toBe(0);
    await echoServer(lanPath(l), 7004);
    expect(askFrom(one.path, l.peer, 7004)).toBe(`${l.prefix}.2`);
    expect(askFrom(two.path, l.peer, 7004)).toBe(`${l.prefix}.3`);

    // CHECK notices what went behind its back
    inNetns(one.path, ["ip", "link", "del", "net1"]);
    expect(plugin("CHECK", envOf(one), { ...config, prevResult: added.out })).toMatchObject({ code: 1, out: { code: 101, msg: expect.stringContaining("interface net1 is missing") } });
    // DEL is idempotent, and fine with the netns gone
    expect(plugin("DEL", envOf(one)).code).toBe(0);
    expect(plugin("DEL", envOf(one)).code).toBe(0);
    expect(leasesOf(dataDir, "pmv")).toEqual([`${l.prefix}.3`]);
    // GC: what the runtime no longer lists goes, link and lease
    expect(plugin("GC", {}, { ...config, "cni.dev/valid-attachments": [] }).code).toBe(0);
    expect(leasesOf(dataDir, "pmv")).toEqual([]);
    expect(inNetns(two.path, ["ip", "link", "show", "net1"]).ok).toBe(false);
    expect(readdirSync(join(root, "vlan"))).toEqual([]);

    // a mode of the other driver, a parent that is gone: a conflict (the CNI code for bad input), nothing leased
    expect(plugin("ADD", envOf(one), { ...config, mode: "l3" })).toMatchObject({ code: 1, out: { code: 100, msg: 'network pmv: invalid macvlan mode "l3": use one of bridge, private, vepa, passthru' } });
    const gone = plugin("ADD", envOf(one), { ...config, master: "nosuch0" });
    expect(gone).toMatchObject({ code: 1, out: { code: 100, msg: `parent interface nosuch0 of macvlan network pmv does not exist` } });
    expect(leasesOf(dataDir, "pmv")).toEqual([]);
  });
});
