// ctrnet as podman's network through hooks.d, as the README tells: `ctrnet hook install --dir D`, then
// `podman run --network none` with io.ctrnet.* annotations. podman makes the netns and config.json joins it
// by path; ctrnet configures it, and `podman rm` (poststop) takes the network away. Root podman with its
// state under the test's directories; a busybox tree as the root filesystem (--rootfs), so no image.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { hostVeths, perContainerChains } from "./cni-helpers.ts";
import { busyboxRootfs, hideHybridCgroup2 } from "./hook-helpers.ts";
import { fetchText, hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

const runnable = privileged && Bun.which("podman") !== null;

describe.skipIf(!runnable)("podman with ctrnet's hooks.d files", () => {
  let inst: Installation;
  let net: TestNetwork;
  let restoreCgroups: () => void;
  let podmanArgs: string[];
  const started: string[] = [];

  function podman(args: string[]): { ok: boolean; out: string; err: string } {
    const r = Bun.spawnSync(["podman", ...podmanArgs, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { ok: r.exitCode === 0, out: r.stdout.toString(), err: r.stderr.toString() };
  }

  beforeAll(() => {
    restoreCgroups = hideHybridCgroup2();
    inst = new Installation();
    net = inst.network("pod");
    const hooksDir = join(inst.dir, "hooks.d");
    inst.ok(["hook", "install", "--dir", hooksDir]);
    podmanArgs = [
      "--root", join(inst.dir, "podman-root"),
      "--runroot", "/run/ctrnet-test-podman",
      "--tmpdir", join(inst.dir, "podman-tmp"),
      "--hooks-dir", hooksDir,
      "--cgroup-manager", "cgroupfs",
      "--events-backend", "file",
    ];
  });

  afterEach(() => {
    for (const name of started.splice(0)) podman(["rm", "-f", "-t", "0", name]);
    expect(podman(["ps", "-a", "-q"]).out.trim()).toBe("");
    inst.expectClean();
    expect(hostVeths()).toEqual([]);
    expect(perContainerChains()).toEqual([]);
  });

  afterAll(() => {
    inst?.dispose();
    restoreCgroups?.();
  });

  test("podman run --network none with the annotations: the published port serves, the address is the network's, podman rm leaves nothing", async () => {
    const name = `pod-${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    const body = `hello from ${name}`;
    const dir = join(inst.dir, name);
    mkdirSync(dir);
    const rootfs = busyboxRootfs(dir, body);
    const r = podman([
      "run", "-d", "--name", name, "--network", "none",
      // this machine's hard limits are below podman's defaults, which the runtime would fail to set
      "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
      "--annotation", `io.ctrnet.network=${net.name}`, "--annotation", `io.ctrnet.publish=127.0.0.1:${port}:80`,
      "--rootfs", rootfs, "/bin/httpd", "-f", "-p", "80", "-h", "/www",
    ]);
    started.push(name);
    expect(r).toMatchObject({ ok: true });
    const id = r.out.trim();

    let served: string | null = null;
    for (let i = 0; i < 100 && served !== body; i++) {
      served = await fetchText(`http://127.0.0.1:${port}/index.html`, 500);
      if (served !== body) await Bun.sleep(50);
    }
    expect(served).toBe(body);
    const [rec] = JSON.parse(inst.ok(["ls", "--format", "json"])) as { id: string; netns: string }[];
    expect(rec?.id).toBe(id);
    const addr = podman(["exec", name, "ip", "-o", "-4", "addr", "show", "eth0"]).out;
    expect(addr).toContain(` ${inst.inspect(id).NetworkSettings.IPAddress}/`);
    expect(inst.inspect(id).NetworkSettings.IPAddress).toStartWith(`${net.prefix}.`);

    expect(podman(["rm", "-f", "-t", "0", name]).ok).toBe(true);
    started.splice(0);
    expect(JSON.parse(inst.ok(["ls", "--format", "json"]))).toEqual([]);
    expect(await fetchText(`http://127.0.0.1:${port}/index.html`, 500)).toBeNull();
  }, 60_000);
});
