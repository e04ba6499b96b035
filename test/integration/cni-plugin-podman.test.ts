// Real runtimes using ctrnet's plugin: `ctrnet cni install` puts it on a plugin path, `ctrnet cni conflist`
// writes the network, and podman 4.3.1 (CNI backend) runs a container on it whose published port serves;
// a ctrnet container on the same network (its CNI runtime finds the same plugin) reaches the podman one;
// podman rm and ctrnet rm leave no lease, link, nftables element or record.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hostInterfaceName } from "../../src/drivers/bridge/attach.ts";
import { hostVeths } from "./cni-helpers.ts";
import { busyboxRootfs, hideHybridCgroup2 } from "./hook-helpers.ts";
import { fetchText, hex, Installation, privileged, run } from "./lifecycle-helpers.ts";

const runnable = privileged && Bun.which("podman") !== null;

describe.skipIf(!runnable)("podman and ctrnet on a network served by ctrnet's plugin", () => {
  let inst: Installation;
  let restoreCgroups: () => void;
  let podmanArgs: string[];
  let pluginDir: string;
  let podmanEnv: Record<string, string>;
  const network = `pn-${hex(3)}`;
  const ipamDir = () => join(inst.dir, "ipam");

  function podman(args: string[]): { ok: boolean; out: string; err: string } {
    const r = Bun.spawnSync(["podman", ...podmanArgs, ...args], { env: podmanEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { ok: r.exitCode === 0, out: r.stdout.toString(), err: r.stderr.toString() };
  }

  const leases = () => {
    try {
      return readdirSync(join(ipamDir(), network)).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip") && f !== ".ctrnet-owners" && !f.startsWith(".ctrnet-highest."));
    } catch {
      return [];
    }
  };
  // published on 127.0.0.1: the map of ports published on one host address
  const portsMap = () => run(["nft", "list", "map", "inet", "ctrnet", "hostports4"]).out;

  beforeAll(() => {
    restoreCgroups = hideHybridCgroup2();
    inst = new Installation();
    pluginDir = join(inst.dir, "plugins");
    expect(inst.ok(["cni", "install", "--dir", pluginDir])).toBe(`${join(pluginDir, "ctrnet")}\n`);
    inst.env.CTRNET_CNI_PLUGIN_DIR = pluginDir;
    // again: nothing to do
    expect(inst.ok(["cni", "install", "--dir", pluginDir])).toBe(`${join(pluginDir, "ctrnet")}\n`);
    const conf = inst.ok(["cni", "conflist", network, "--subnet", "10.45.7.0/24", "--ipam-data-dir", ipamDir()]);
    writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${network}.conflist`), conf);
    const containersConf = join(inst.dir, "containers.conf");
    writeFileSync(
      containersConf,
      `[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = ["${pluginDir}", "/usr/lib/cni"]\nnetwork_config_dir = "${inst.env.CTRNET_CNI_CONFIG_DIR}"\n`,
    );
    // No CTRNET_ROOT for podman: conmon runs podman's cleanup (and its DEL) without the caller's
    // environment, so the plugin keeps its records in the default /run/ctrnet (the test run's own tmpfs).
    podmanEnv = { ...(process.env as Record<string, string>), CONTAINERS_CONF: containersConf };
    delete podmanEnv.CTRNET_ROOT;
    podmanArgs = ["--root", join(inst.dir, "podman-root"), "--runroot", "/run/ctrnet-test-podman-plugin", "--tmpdir", join(inst.dir, "podman-tmp"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file"];
  });

  afterEach(() => {
    podman(["rm", "-f", "-t", "0", "-a"]);
    inst.removeAll();
    // the network's bridge and ctrnet's table outlive its containers, as a network's do
    run(["ip", "link", "del", `cn-${network}`.slice(0, 15)]);
    run(["nft", "delete", "table", "inet", "ctrnet"]);
  });

  afterAll(() => {
    inst?.dispose();
    restoreCgroups?.();
  });

  test("podman run -p serves through ctrnet's plugin; a ctrnet container on the network reaches it; rm leaves nothing", async () => {
    const body = `podman on ctrnet ${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    const dir = join(inst.dir, "pod");
    mkdirSync(dir);
    const started = podman([
      "run", "-d", "--name", "onctrnet", "--network", network, "-p", `127.0.0.1:${port}:80`,
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
      "--rootfs", busyboxRootfs(dir, body), "/bin/httpd", "-f", "-p", "80", "-h", "/www",
    ]);
    expect(started).toMatchObject({ ok: true });
    const id = started.out.trim();
    let served: string | null = null;
    for (let i = 0; i < 100 && served !== body; i++) {
      served = await fetchText(`http://127.0.0.1:${port}/index.html`, 500);
      if (served !== body) await Bun.sleep(50);
    }
    expect(served).toBe(body);
    const [info] = JSON.parse(podman(["inspect", id]).out);
    const podIp = info.NetworkSettings.Networks[network].IPAddress as string;
    expect(podIp).toStartWith("10.45.7.");
    expect(leases()).toEqual([podIp]);
    expect(portsMap()).toContain(`127.0.0.1 . tcp . ${port} : ${podIp} . 80`);
    expect(hostVeths()).toContain(hostInterfaceName(id, "eth0"));

    // a firewall reload wiped the table: podman network reload brings the port back, same address
    expect(run(["nft", "flush", "ruleset"]).ok).toBe(true);
    expect(await fetchText(`http://127.0.0.1:${port}/index.html`, 500)).toBeNull();
    const reloaded = podman(["network", "reload", id]);
    expect(reloaded).toMatchObject({ ok: true });
    expect(await fetchText(`http://127.0.0.1:${port}/index.html`, 2000)).toBe(body);
    expect(JSON.parse(podman(["inspect", id]).out)[0].NetworkSettings.Networks[network].IPAddress).toBe(podIp);

    // a ctrnet container on the same network: ctrnet's CNI runtime runs the same plugin
    const mine = `mine-${hex(3)}`;
    const netns = inst.ok(["create", "--network", network, mine]).trim();
    const fetched = run(["nsenter", `--net=${netns}`, "curl", "-s", "--max-time", "3", `http://${podIp}/index.html`]);
    expect(fetched.out).toBe(body);
    expect(leases().sort()).toHaveLength(2);
    inst.ok(["rm", mine]);

    expect(podman(["rm", "-f", "-t", "0", id])).toMatchObject({ ok: true, err: "" });
    expect(leases()).toEqual([]);
    expect(portsMap()).not.toContain(`${port}`);
    expect(hostVeths()).not.toContain(hostInterfaceName(id, "eth0"));
    for (const root of [inst.env.CTRNET_ROOT!, "/run/ctrnet"]) expect(existsSync(join(root, "native")) ? readdirSync(join(root, "native")) : []).toEqual([]);
    expect(await fetchText(`http://127.0.0.1:${port}/index.html`, 500)).toBeNull();
  }, 90_000);

  test("podman run on a macvlan network of ctrnet's plugin: the LAN and a ctrnet container reach it; rm leaves nothing", async () => {
    // the parent's LAN: a netns at the other end of a veth pair
    const id3 = hex(2);
    const [parent, lan, mv] = [`pmp${id3}`, `pmlan-${process.pid}-${id3}`, `pmv-${id3}`];
    expect(run(["ip", "netns", "add", lan]).ok).toBe(true);
    try {
      expect(run(["ip", "link", "add", parent, "type", "veth", "peer", "name", "lan0", "netns", lan]).ok).toBe(true);
      run(["ip", "link", "set", parent, "up"]);
      run(["ip", "-n", lan, "addr", "add", "192.168.151.1/24", "dev", "lan0"]);
      run(["ip", "-n", lan, "link", "set", "lan0", "up"]);
      inst.ok(["network", "create", "-d", "macvlan", "-o", `parent=${parent}`, "--subnet", "192.168.151.0/24", mv]);
      const mvLeases = () => (existsSync(join(inst.ipamDir, mv)) ? readdirSync(join(inst.ipamDir, mv)).filter((f) => /^\d/.test(f)) : []);

      const body = `podman on macvlan ${hex(4)}`;
      const dir = join(inst.dir, "podmv");
      mkdirSync(dir);
      const started = podman([
        "run", "-d", "--network", mv, "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
        "--rootfs", busyboxRootfs(dir, body), "/bin/httpd", "-f", "-p", "80", "-h", "/www",
      ]);
      expect(started).toMatchObject({ ok: true });
      const id = started.out.trim();
      const podIp = JSON.parse(podman(["inspect", id]).out)[0].NetworkSettings.Networks[mv].IPAddress as string;
      expect(podIp).toBe("192.168.151.2");
      const fetchFrom = (netns: string) => run(["nsenter", `--net=${netns}`, "curl", "-s", "--max-time", "3", `http://${podIp}/index.html`]).out;
      let fromLan = "";
      for (let i = 0; i < 50 && fromLan !== body; i++) {
        fromLan = fetchFrom(`/run/netns/${lan}`);
        if (fromLan !== body) await Bun.sleep(50);
      }
      expect(fromLan).toBe(body);
      const mine = `mvmine-${hex(3)}`;
      expect(fetchFrom(inst.ok(["create", "--network", mv, mine]).trim())).toBe(body);
      expect(mvLeases().sort()).toEqual(["192.168.151.2", "192.168.151.3"]);
      inst.ok(["rm", mine]);

      expect(podman(["rm", "-f", "-t", "0", id])).toMatchObject({ ok: true, err: "" });
      expect(mvLeases()).toEqual([]);
      for (const root of [inst.env.CTRNET_ROOT!, "/run/ctrnet"]) expect(existsSync(join(root, "vlan")) ? readdirSync(join(root, "vlan")) : []).toEqual([]);
      inst.ok(["network", "rm", mv]);
    } finally {
      run(["ip", "link", "del", parent]);
      run(["ip", "netns", "del", lan]);
    }
  }, 90_000);
});
