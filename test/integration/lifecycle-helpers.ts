// A private ctrnet installation per test file (state, netns dir, CNI config and cache in a temp dir), bridge
// networks with bridges made in beforeAll (so they belong to the state every test starts from), a web
// server inside a container's netns, and the check that a test left no record, cache file, IPAM
// allocation, netns file or ledger entry behind.
import { expect } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { BINARY, type CliResult, ensureBinary } from "../helpers/binary.ts";
import { bridgeConflist, nativeConflist } from "../../src/drivers/cni/index.ts";
import { prepareTestNetwork, TEST_NETWORK_PLUGIN, type TestNetworkPlugin } from "../helpers/network-plugin.ts";
import { hex, run } from "./cni-helpers.ts";

export { hex, privileged, run } from "./cni-helpers.ts";

export interface TestNetwork {
  name: string;
  bridge: string;
  /** e.g. "10.123.45" for 10.123.45.0/24 */
  prefix: string;
  subnet: string;
  plugin: TestNetworkPlugin;
}

export class Installation {
  readonly dir = mkdtempSync(join(tmpdir(), "ctrnet-lc-"));
  readonly env: Record<string, string> = {
    CTRNET_ROOT: join(this.dir, "root"),
    CTRNET_NETNS_DIR: join(this.dir, "netns"),
    CTRNET_CNI_CONFIG_DIR: join(this.dir, "conf"),
    CTRNET_CNI_CACHE_DIR: join(this.dir, "cache"),
  };
  private readonly bridges: string[] = [];
  private readonly networks: string[] = [];

  constructor() {
    ensureBinary();
    mkdirSync(this.env.CTRNET_CNI_CONFIG_DIR!, { recursive: true });
  }

  get ipamDir(): string {
    return join(this.env.CTRNET_CNI_CACHE_DIR!, "networks");
  }

  /**
   * A bridge network with a /24 of its own, served by the plugin under test (test/helpers/network-plugin.ts)
   * unless a test of one plugin's specifics names it; its bridge exists from now until dispose().
   */
  network(tag: string, plugin: TestNetworkPlugin = TEST_NETWORK_PLUGIN): TestNetwork {
    const id = hex(3);
    const name = `lc-${tag}-${id}`;
    const bridge = `lcb${id}`;
    const prefix = `10.${100 + (Number.parseInt(id.slice(0, 2), 16) % 150)}.${Number.parseInt(id.slice(2, 4), 16)}`;
    const subnet = `${prefix}.0/24`;
    const spec = { name, bridge, subnets: [subnet], ipamDataDir: this.ipamDir };
    const conf = plugin === "cni" ? bridgeConflist(spec) : nativeConflist(spec);
    writeFileSync(join(this.env.CTRNET_CNI_CONFIG_DIR!, `${name}.conflist`), JSON.stringify(conf, null, 2));
    expect(run(["ip", "link", "add", bridge, "type", "bridge"]).ok).toBe(true);
    this.bridges.push(bridge);
    if (plugin === "ctrnet") prepareTestNetwork({ bridge, subnets: [subnet] });
    this.networks.push(name);
    return { name, bridge, prefix, subnet, plugin };
  }

  cli(args: string[]): CliResult {
    const r = Bun.spawnSync([BINARY, ...args], { env: { ...process.env, ...this.env }, stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  /** Runs the command and fails the test with its stderr unless it exits 0; returns stdout. */
  ok(args: string[]): string {
    const r = this.cli(args);
    if (r.code !== 0) throw new Error(`ctrnet ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  inspect(id: string): any {
    return JSON.parse(this.ok(["inspect", id]))[0];
  }

  /** Whatever a test left is removed, so one failure doesn't cascade into the next tests. */
  removeAll(): void {
    const list = JSON.parse(this.ok(["ls", "--format", "json"])) as { id: string }[];
    for (const c of list.reverse()) this.cli(["rm", "-f", c.id]);
  }

  /** Nothing of any container is left in ctrnet's own files: records, native attachments, CNI cache, IPAM, netns files, ledger. */
  expectClean(): void {
    expect(JSON.parse(this.ok(["ls", "--format", "json"]))).toEqual([]);
    expect(listing(join(this.env.CTRNET_CNI_CACHE_DIR!, "results"))).toEqual([]);
    for (const network of listing(this.ipamDir)) {
      expect({ network, files: listing(join(this.ipamDir, network)).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip") && !f.startsWith(".ctrnet-highest.")) }).toEqual({ network, files: [] });
    }
    expect(listing(this.env.CTRNET_NETNS_DIR!)).toEqual([]);
    expect(listing(join(this.env.CTRNET_ROOT!, "native"))).toEqual([]);
    expect(listing(join(this.env.CTRNET_ROOT!, "netns"))).toEqual([]);
    expect(listing(join(this.env.CTRNET_ROOT!, "processes"))).toEqual([]);
    expect(listing(join(this.env.CTRNET_ROOT!, "locks"))).toEqual([]);
  }

  dispose(): void {
    // as a user would: the bridge, the allocations and what the network has in ctrnet's nftables table go
    for (const n of this.networks) this.cli(["network", "rm", "-f", n]);
    for (const b of this.bridges) run(["ip", "link", "del", b]);
    // createNetns made the netns dir a (shared) mount point of its own
    run(["umount", "-l", this.env.CTRNET_NETNS_DIR!]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function listing(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** busybox httpd serving `body` on port 80 inside the netns; stop it with kill(). */
export async function startWebServer(netnsPath: string, body: string, dir: string): Promise<Subprocess> {
  const www = join(dir, `www-${hex(4)}`);
  mkdirSync(www, { recursive: true });
  writeFileSync(join(www, "index.html"), body);
  const server = Bun.spawn(["nsenter", `--net=${netnsPath}`, "busybox", "httpd", "-f", "-p", "80", "-h", www], {
    stdout: "ignore",
    stderr: "ignore",
  });
  for (let i = 0; i < 100; i++) {
    if (run(["nsenter", `--net=${netnsPath}`, "ss", "-Hltn", "sport = :80"]).out.includes("LISTEN")) return server;
    await Bun.sleep(20);
  }
  server.kill();
  throw new Error("web server in the container did not start");
}

export async function stopProcess(proc: Subprocess): Promise<void> {
  proc.kill("SIGKILL");
  await proc.exited;
}

/** The body at url, or null if nothing answered within the timeout. */
export async function fetchText(url: string, timeoutMs = 3000): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return await res.text();
  } catch {
    return null;
  }
}

/** A veth pair in the private host netns with `address` on one end: "the host's address" for port tests. */
export function hostAddress(address: string): { address: string; remove: () => void } {
  const a = `lch${hex(3)}`;
  const b = `lcp${hex(3)}`;
  expect(run(["ip", "link", "add", a, "type", "veth", "peer", "name", b]).ok).toBe(true);
  run(["ip", "addr", "add", `${address}/24`, "dev", a]);
  run(["ip", "link", "set", a, "up"]);
  run(["ip", "link", "set", b, "up"]);
  return { address, remove: () => run(["ip", "link", "del", a]) };
}

/** `ip -j addr` inside a netns: interface name -> addresses, MAC. */
export function addressesInside(netnsPath: string): Record<string, { mac: string; inet: string[] }> {
  const r = Bun.spawnSync(["nsenter", `--net=${netnsPath}`, "ip", "-j", "addr"], { stdout: "pipe" });
  const out: Record<string, { mac: string; inet: string[] }> = {};
  for (const link of JSON.parse(r.stdout.toString()) as any[]) {
    out[link.ifname] = {
      mac: link.address,
      inet: (link.addr_info as any[]).filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`),
    };
  }
  return out;
}
