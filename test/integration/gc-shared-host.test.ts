// `ctrnet gc` on a host it shares with other runtimes: /var/lib/cni (results cache and host-local's IPAM)
// and the conflists are podman's, containerd's and CRI-O's too. gc collects only the attachments ctrnet
// made; a live podman container (CNI backend, published port) and an attachment made the way containerd's
// libcni makes it keep their address lease, DNAT rules, veth and cache file, and podman removes its own
// container afterwards without a word about a missing cache entry.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { createCniRuntime } from "../../src/drivers/cni/index.ts";
import { createNetns, removeNetns } from "../../src/netns/index.ts";
import { firewallLinesMentioning, hostVeths, ipamAllocations, perContainerChains } from "./cni-helpers.ts";
import { busyboxRootfs, hideHybridCgroup2 } from "./hook-helpers.ts";
import { fetchText, hex, Installation, privileged, run, type TestNetwork } from "./lifecycle-helpers.ts";

const runnable = privileged && Bun.which("podman") !== null;
const CACHE = "/var/lib/cni";

async function served(url: string, body: string): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await fetchText(url, 500)) === body) return true;
    await Bun.sleep(50);
  }
  return false;
}

describe.skipIf(!runnable)("ctrnet gc beside podman and containerd on one network", () => {
  let inst: Installation;
  let net: TestNetwork;
  let restoreCgroups: () => void;
  let podmanArgs: string[];

  function podman(args: string[]): { ok: boolean; out: string; err: string } {
    const r = Bun.spawnSync(["podman", ...podmanArgs, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { ok: r.exitCode === 0, out: r.stdout.toString(), err: r.stderr.toString() };
  }

  beforeAll(() => {
    restoreCgroups = hideHybridCgroup2();
    inst = new Installation();
    // the machine's shared cache (a tmpfs of the test's private namespaces), as on a real host
    inst.env.CTRNET_CNI_CACHE_DIR = CACHE;
    // podman's CNI backend runs its container through the network's plugins, whose iptables rules are checked
    net = inst.network("gc", "cni");
    podmanArgs = [
      "--root", join(inst.dir, "podman-root"),
      "--runroot", "/run/ctrnet-test-podman",
      "--tmpdir", join(inst.dir, "podman-tmp"),
      "--network-backend", "cni",
      "--network-config-dir", inst.env.CTRNET_CNI_CONFIG_DIR!,
      "--cgroup-manager", "cgroupfs",
      "--events-backend", "file",
    ];
  });

  /** A podman container (CNI backend) on the network, serving a page on a published port of 127.0.0.1. */
  async function podmanNeighbour(name: string) {
    const body = `podman ${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 5000);
    const dir = join(inst.dir, name);
    mkdirSync(dir);
    const started = podman([
      "run", "-d", "--name", name, "--network", net.name, "-p", `127.0.0.1:${port}:80`,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
      "--rootfs", busyboxRootfs(dir, body), "/bin/httpd", "-f", "-p", "80", "-h", "/www",
    ]);
    expect(started).toMatchObject({ ok: true });
    const id = started.out.trim();
    const url = `http://127.0.0.1:${port}/index.html`;
    expect(await served(url, body)).toBe(true);
    const file = join(CACHE, "results", `${net.name}-${id}-eth0`);
    const cache = readFileSync(file, "utf8");
    return { id, port, file, cache, ip: JSON.parse(cache).result.ips[0].address.split("/")[0] as string, serves: () => served(url, body) };
  }

  /** An attachment made the way containerd's libcni makes it: the reference plugins, a cache file without ctrnet's mark. */
  async function containerdAttachment(dirName: string, hostPort: number) {
    const id = `ctrd-${hex(4)}`;
    const dir = join(inst.dir, dirName);
    const ns = createNetns({ name: id, dir });
    const runtime = createCniRuntime({ configDirs: [inst.env.CTRNET_CNI_CONFIG_DIR!], cacheDir: CACHE, owner: "containerd" });
    const network = await runtime.loadNetwork(net.name);
    const result = await runtime.add({
      network, containerId: id, netnsPath: ns.path, ifName: "eth0",
      capabilityArgs: { portMappings: [{ hostPort, containerPort: 80, protocol: "tcp" }] },
    });
    const file = join(CACHE, "results", `${net.name}-${id}-eth0`);
    const { ctrnet: _mark, ...libcni } = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify(libcni));
    const remove = async () => {
      await runtime.del({ network, containerId: id, netnsPath: ns.path, ifName: "eth0" });
      removeNetns(ns.path);
      // createNetns made the dir a mount point of its own
      run(["umount", "-l", dir]);
    };
    return { id, file, ip: result.ips[0]!.address.split("/")[0]!, remove };
  }

  /** A ctrnet container whose record was lost (as with a damaged state database); its address. */
  function lostContainer(id: string, hostPort: number): string {
    inst.ok(["create", "--network", net.name, "-p", `127.0.0.1:${hostPort}:80`, id]);
    const ip = inst.inspect(id).NetworkSettings.IPAddress as string;
    const db = new Database(join(inst.env.CTRNET_ROOT!, "state.db"));
    // the supervisor the create started may hold the database for a moment
    db.run("PRAGMA busy_timeout = 10000");
    db.run("DELETE FROM containers WHERE id = ?", [id]);
    db.close();
    return ip;
  }

  afterEach(() => {
    podman(["rm", "-f", "-t", "0", "-a"]);
    inst.removeAll();
  });

  afterAll(() => {
    inst?.dispose();
    restoreCgroups?.();
  });

  test("gc collects ctrnet's own stale attachment and leaves podman's live container and a containerd attachment untouched", async () => {
    const pod = await podmanNeighbour("neighbour");
    const ctrd = await containerdAttachment("ctrd-netns", pod.port + 5000);

    try {
      const mine = `mine-${hex(4)}`;
      const mineIp = lostContainer(mine, pod.port + 2500);
      const veths = hostVeths().length;

      const report = JSON.parse(inst.ok(["gc", "--format", "json"]));

      expect(report.attachments).toEqual([`${net.name}/${mine}/eth0`]);
      expect(report.errors).toEqual([]);
      expect(ipamAllocations(inst.ipamDir, net.name).sort()).toEqual([pod.ip, ctrd.ip].sort());
      expect(ipamAllocations(inst.ipamDir, net.name)).not.toContain(mineIp);
      expect(firewallLinesMentioning(mine)).toEqual([]);
      expect(hostVeths()).toHaveLength(veths - 1);
      // podman's container: still served through its DNAT rules, its cache file as podman wrote it
      expect(await pod.serves()).toBe(true);
      expect(readFileSync(pod.file, "utf8")).toBe(pod.cache);
      expect(firewallLinesMentioning(pod.id).length).toBeGreaterThan(0);
      // containerd's attachment: cache file, DNAT rules and address all still there
      expect(existsSync(ctrd.file)).toBe(true);
      expect(firewallLinesMentioning(ctrd.id).length).toBeGreaterThan(0);

      const removed = podman(["rm", "-f", "-t", "0", "neighbour"]);
      expect(removed.ok).toBe(true);
      expect(removed.err).not.toContain("not found in CNI cache");
      expect(existsSync(pod.file)).toBe(false);
      expect(ipamAllocations(inst.ipamDir, net.name)).toEqual([ctrd.ip]);
    } finally {
      await ctrd.remove();
    }
    expect(ipamAllocations(inst.ipamDir, net.name)).toEqual([]);
    expect(perContainerChains()).toEqual([]);
    expect(hostVeths()).toEqual([]);
  }, 90_000);

  test("gc sweeps the leases and iptables rules of a ctrnet container with neither record nor cache entry, by its id; podman's and containerd's stay", async () => {
    const pod = await podmanNeighbour("neighbour2");
    // containerd's attachment, then lost too: its lease and rules are all that say it is there
    const ctrd = await containerdAttachment("ctrd-netns2", pod.port + 5000);
    const ctrdCache = readFileSync(ctrd.file, "utf8");
    rmSync(ctrd.file);

    try {
      // ctrnet's container after a create killed during its ADD and a lost database: no record, no cache entry
      const mine = `lost-${hex(4)}`;
      const mineIp = lostContainer(mine, pod.port + 2500);
      rmSync(join(CACHE, "results", `${net.name}-${mine}-eth0`));
      expect(firewallLinesMentioning(mine).length).toBeGreaterThan(0);
      expect(firewallLinesMentioning(`${mineIp}/32`).length).toBeGreaterThan(0);

      const report = JSON.parse(inst.ok(["gc", "--format", "json"]));

      expect(report.errors).toEqual([]);
      expect(report.leftovers).toContain(`lease ${mineIp} of container ${mine} on network ${net.name}`);
      expect(ipamAllocations(inst.ipamDir, net.name).sort()).toEqual([pod.ip, ctrd.ip].sort());
      expect(firewallLinesMentioning(mine)).toEqual([]);
      expect(firewallLinesMentioning(`${mineIp}/32`)).toEqual([]);
      // podman's live container still served; containerd's lease and rules still there
      expect(await pod.serves()).toBe(true);
      expect(firewallLinesMentioning(pod.id).length).toBeGreaterThan(0);
      expect(firewallLinesMentioning(ctrd.id).length).toBeGreaterThan(0);
      expect(firewallLinesMentioning(`${ctrd.ip}/32`).length).toBeGreaterThan(0);
      // the veth went with the netns gc removed as an orphan
      expect(hostVeths()).toHaveLength(2);
    } finally {
      writeFileSync(ctrd.file, ctrdCache);
      await ctrd.remove();
    }
    expect(podman(["rm", "-f", "-t", "0", "neighbour2"]).ok).toBe(true);
    expect(ipamAllocations(inst.ipamDir, net.name)).toEqual([]);
    expect(perContainerChains()).toEqual([]);
  }, 90_000);
});
