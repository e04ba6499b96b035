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

  afterEach(() => {
    podman(["rm", "-f", "-t", "0", "-a"]);
    inst.removeAll();
  });

  afterAll(() => {
    inst?.dispose();
    restoreCgroups?.();
  });

  test("gc collects ctrnet's own stale attachment and leaves podman's live container and a containerd attachment untouched", async () => {
    const body = `podman ${hex(4)}`;
    const podPort = 20000 + Math.floor(Math.random() * 5000);
    const dir = join(inst.dir, "pod");
    mkdirSync(dir);
    const started = podman([
      "run", "-d", "--name", "neighbour", "--network", net.name, "-p", `127.0.0.1:${podPort}:80`,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
      "--rootfs", busyboxRootfs(dir, body), "/bin/httpd", "-f", "-p", "80", "-h", "/www",
    ]);
    expect(started).toMatchObject({ ok: true });
    const podId = started.out.trim();
    expect(await served(`http://127.0.0.1:${podPort}/index.html`, body)).toBe(true);
    const podFile = join(CACHE, "results", `${net.name}-${podId}-eth0`);
    const podCache = readFileSync(podFile, "utf8");
    const podIp = JSON.parse(podCache).result.ips[0].address.split("/")[0] as string;

    // containerd's libcni: the reference plugins through a runtime, a cache file without ctrnet's mark
    const ctrdId = `ctrd-${hex(4)}`;
    const ctrdDir = join(inst.dir, "ctrd-netns");
    const ctrdNs = createNetns({ name: ctrdId, dir: ctrdDir });
    const ctrd = createCniRuntime({ configDirs: [inst.env.CTRNET_CNI_CONFIG_DIR!], cacheDir: CACHE, owner: "containerd" });
    const network = await ctrd.loadNetwork(net.name);
    const ctrdPort = podPort + 5000;
    const ctrdResult = await ctrd.add({
      network, containerId: ctrdId, netnsPath: ctrdNs.path, ifName: "eth0",
      capabilityArgs: { portMappings: [{ hostPort: ctrdPort, containerPort: 80, protocol: "tcp" }] },
    });
    const ctrdFile = join(CACHE, "results", `${net.name}-${ctrdId}-eth0`);
    const { ctrnet: _mark, ...libcni } = JSON.parse(readFileSync(ctrdFile, "utf8"));
    writeFileSync(ctrdFile, JSON.stringify(libcni));
    const ctrdIp = ctrdResult.ips[0]!.address.split("/")[0]!;

    try {
      // ctrnet's own container whose record was lost (as with a damaged state database): its attachment is stale
      const mine = `mine-${hex(4)}`;
      inst.ok(["create", "--network", net.name, "-p", `127.0.0.1:${podPort + 2500}:80`, mine]);
      const mineIp = inst.inspect(mine).NetworkSettings.IPAddress as string;
      const db = new Database(join(inst.env.CTRNET_ROOT!, "state.db"));
      db.run("DELETE FROM containers WHERE id = ?", [mine]);
      db.close();
      const veths = hostVeths().length;

      const report = JSON.parse(inst.ok(["gc", "--format", "json"]));

      expect(report.attachments).toEqual([`${net.name}/${mine}/eth0`]);
      expect(report.errors).toEqual([]);
      expect(ipamAllocations(inst.ipamDir, net.name).sort()).toEqual([podIp, ctrdIp].sort());
      expect(ipamAllocations(inst.ipamDir, net.name)).not.toContain(mineIp);
      expect(firewallLinesMentioning(mine)).toEqual([]);
      expect(hostVeths()).toHaveLength(veths - 1);
      // podman's container: still served through its DNAT rules, its cache file as podman wrote it
      expect(await served(`http://127.0.0.1:${podPort}/index.html`, body)).toBe(true);
      expect(readFileSync(podFile, "utf8")).toBe(podCache);
      expect(firewallLinesMentioning(podId).length).toBeGreaterThan(0);
      // containerd's attachment: cache file, DNAT rules and address all still there
      expect(existsSync(ctrdFile)).toBe(true);
      expect(firewallLinesMentioning(ctrdId).length).toBeGreaterThan(0);

      const removed = podman(["rm", "-f", "-t", "0", "neighbour"]);
      expect(removed.ok).toBe(true);
      expect(removed.err).not.toContain("not found in CNI cache");
      expect(existsSync(podFile)).toBe(false);
      expect(ipamAllocations(inst.ipamDir, net.name)).toEqual([ctrdIp]);
    } finally {
      await ctrd.del({ network, containerId: ctrdId, netnsPath: ctrdNs.path, ifName: "eth0" });
      removeNetns(ctrdNs.path);
      // createNetns made the dir a mount point of its own
      run(["umount", "-l", ctrdDir]);
    }
    expect(ipamAllocations(inst.ipamDir, net.name)).toEqual([]);
    expect(perContainerChains()).toEqual([]);
    expect(hostVeths()).toEqual([]);
  }, 90_000);

  test("gc sweeps the leases and iptables rules of a ctrnet container with neither record nor cache entry, by its id; podman's and containerd's stay", async () => {
    const body = `podman ${hex(4)}`;
    const podPort = 20000 + Math.floor(Math.random() * 5000);
    const dir = join(inst.dir, "pod2");
    mkdirSync(dir);
    const started = podman([
      "run", "-d", "--name", "neighbour2", "--network", net.name, "-p", `127.0.0.1:${podPort}:80`,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
      "--rootfs", busyboxRootfs(dir, body), "/bin/httpd", "-f", "-p", "80", "-h", "/www",
    ]);
    expect(started).toMatchObject({ ok: true });
    const podId = started.out.trim();
    expect(await served(`http://127.0.0.1:${podPort}/index.html`, body)).toBe(true);
    const podFile = join(CACHE, "results", `${net.name}-${podId}-eth0`);
    const podIp = JSON.parse(readFileSync(podFile, "utf8")).result.ips[0].address.split("/")[0] as string;

    // containerd's libcni: a cache file without ctrnet's mark, then lost too (its lease and rules are all that say it is there)
    const ctrdId = `ctrd-${hex(4)}`;
    const ctrdDir = join(inst.dir, "ctrd-netns2");
    const ctrdNs = createNetns({ name: ctrdId, dir: ctrdDir });
    const ctrd = createCniRuntime({ configDirs: [inst.env.CTRNET_CNI_CONFIG_DIR!], cacheDir: CACHE, owner: "containerd" });
    const network = await ctrd.loadNetwork(net.name);
    const ctrdResult = await ctrd.add({
      network, containerId: ctrdId, netnsPath: ctrdNs.path, ifName: "eth0",
      capabilityArgs: { portMappings: [{ hostPort: podPort + 5000, containerPort: 80, protocol: "tcp" }] },
    });
    const ctrdFile = join(CACHE, "results", `${net.name}-${ctrdId}-eth0`);
    const ctrdCache = readFileSync(ctrdFile, "utf8");
    rmSync(ctrdFile);
    const ctrdIp = ctrdResult.ips[0]!.address.split("/")[0]!;

    try {
      // ctrnet's container after a create killed during its ADD and a lost database: no record, no cache entry
      const mine = `lost-${hex(4)}`;
      inst.ok(["create", "--network", net.name, "-p", `127.0.0.1:${podPort + 2500}:80`, mine]);
      const mineIp = inst.inspect(mine).NetworkSettings.IPAddress as string;
      const db = new Database(join(inst.env.CTRNET_ROOT!, "state.db"));
      db.run("DELETE FROM containers WHERE id = ?", [mine]);
      db.close();
      rmSync(join(CACHE, "results", `${net.name}-${mine}-eth0`));
      expect(firewallLinesMentioning(mine).length).toBeGreaterThan(0);
      expect(firewallLinesMentioning(`${mineIp}/32`).length).toBeGreaterThan(0);

      const report = JSON.parse(inst.ok(["gc", "--format", "json"]));

      expect(report.errors).toEqual([]);
      expect(report.leftovers).toContain(`lease ${mineIp} of container ${mine} on network ${net.name}`);
      expect(ipamAllocations(inst.ipamDir, net.name).sort()).toEqual([podIp, ctrdIp].sort());
      expect(firewallLinesMentioning(mine)).toEqual([]);
      expect(firewallLinesMentioning(`${mineIp}/32`)).toEqual([]);
      // podman's live container still served; containerd's lease and rules still there
      expect(await served(`http://127.0.0.1:${podPort}/index.html`, body)).toBe(true);
      expect(firewallLinesMentioning(podId).length).toBeGreaterThan(0);
      expect(firewallLinesMentioning(ctrdId).length).toBeGreaterThan(0);
      expect(firewallLinesMentioning(`${ctrdIp}/32`).length).toBeGreaterThan(0);
      // the veth went with the netns gc removed as an orphan
      expect(hostVeths()).toHaveLength(2);
    } finally {
      writeFileSync(ctrdFile, ctrdCache);
      await ctrd.del({ network, containerId: ctrdId, netnsPath: ctrdNs.path, ifName: "eth0" });
      removeNetns(ctrdNs.path);
      run(["umount", "-l", ctrdDir]);
    }
    expect(podman(["rm", "-f", "-t", "0", "neighbour2"]).ok).toBe(true);
    expect(ipamAllocations(inst.ipamDir, net.name)).toEqual([]);
    expect(perContainerChains()).toEqual([]);
  }, 90_000);
});
