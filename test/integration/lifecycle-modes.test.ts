// The network modes other than a plain bridge network: none, host, ns:PATH, container:ID (inspect follows
// it), an existing netns given by --netns, and the netns of a running process adopted with --pid.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../helpers/binary.ts";
import { addressesInside, hex, Installation, privileged, run, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("ctrnet network modes", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("modes");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test("none: a netns with only loopback, up", () => {
    const id = `none-${hex(4)}`;
    const netns = inst.ok(["create", "--network", "none", id]).trim();
    const links = JSON.parse(Bun.spawnSync(["nsenter", `--net=${netns}`, "ip", "-j", "link"]).stdout.toString()) as any[];
    expect(links.map((l) => l.ifname)).toEqual(["lo"]);
    expect(links[0].flags).toContain("UP");
    const settings = inst.inspect(id).NetworkSettings;
    expect(settings.SandboxKey).toBe(netns);
    // as podman 4.4 and later: none is a network of its own
    expect(Object.keys(settings.Networks)).toEqual(["none"]);
    expect(settings.Networks.none).toMatchObject({ NetworkID: "none", IPAddress: "" });
    inst.ok(["rm", id]);
    expect(existsSync(netns)).toBe(false);
  });

  test("host: no netns of its own", () => {
    const id = `host-${hex(4)}`;
    expect(inst.ok(["create", "--network", "host", id])).toBe("\n");
    const result = inst.inspect(id);
    expect(result.NetworkMode).toBe("host");
    expect(result.NetworkSettings.SandboxKey).toBe("");
    expect(Object.keys(result.NetworkSettings.Networks)).toEqual(["host"]);
    inst.ok(["rm", id]);
  });

  test("ns:PATH joins a netns and leaves it alone on rm; --netns configures one without owning it", () => {
    const name = `lcns-${hex(4)}`;
    expect(run(["ip", "netns", "add", name]).ok).toBe(true);
    const path = `/run/netns/${name}`;
    try {
      // what the netns holds, made by someone else: inspect reads it from the netns, as podman does
      for (const cmd of [
        ["link", "add", "eth0", "address", "02:00:00:77:00:05", "type", "veth", "peer", "name", "eth1"],
        ["addr", "add", "10.77.5.5/24", "dev", "eth0"],
        ["addr", "add", "fd77:5::5/64", "dev", "eth0", "nodad"],
        ["link", "set", "eth0", "up"],
        ["link", "set", "eth1", "up"],
        ["route", "add", "default", "via", "10.77.5.1"],
      ]) expect(run(["ip", "-n", name, ...cmd]).ok).toBe(true);
      const joined = `ns-${hex(4)}`;
      expect(inst.ok(["create", "--network", `ns:${path}`, joined]).trim()).toBe(path);
      const observed = inst.inspect(joined).NetworkSettings;
      expect(observed).toMatchObject({
        SandboxKey: path,
        IPAddress: "10.77.5.5",
        IPPrefixLen: 24,
        Gateway: "10.77.5.1",
        MacAddress: "02:00:00:77:00:05",
        GlobalIPv6Address: "fd77:5::5",
        GlobalIPv6PrefixLen: 64,
      });
      expect(run(["ip", "-n", name, "link", "del", "eth0"]).ok).toBe(true);
      inst.ok(["rm", joined]);
      expect(existsSync(path)).toBe(true);

      const configured = `nsc-${hex(4)}`;
      expect(inst.ok(["create", "--network", net.name, "--netns", path, configured]).trim()).toBe(path);
      expect(addressesInside(path).eth0!.inet[0]).toStartWith(`${net.prefix}.`);
      inst.ok(["rm", configured]);
      expect(existsSync(path)).toBe(true);
      expect(addressesInside(path).eth0).toBeUndefined();
    } finally {
      run(["ip", "netns", "del", name]);
    }
  });

  test("container:ID shares another container's netns; inspect follows it; the owner can't go first", () => {
    const owner = `own-${hex(4)}`;
    const sharer = `shr-${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    const netns = inst.ok(["create", "--network", net.name, "-p", `${port}:80`, owner]).trim();
    expect(inst.ok(["create", "--network", `container:${owner}`, sharer])).toBe("\n");
    const shared = inst.inspect(sharer);
    expect(shared.NetworkMode).toBe(`container:${owner}`);
    expect(shared.NetworkSettings).toEqual(inst.inspect(owner).NetworkSettings);
    expect(shared.NetworkSettings.SandboxKey).toBe(netns);
    expect(inst.ok(["port", sharer])).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
    expect(JSON.parse(inst.ok(["stats", sharer, "--format", "json"])).map((s: any) => s.interface).sort()).toEqual(["eth0", "lo"]);
    const early = inst.cli(["rm", owner]);
    expect(early.code).toBe(2);
    expect(early.stderr).toContain("remove them first");
    inst.ok(["rm", sharer, owner]);
  });

  test("--pid adopts a running process's netns, inspect's State.Pid; gc removes the container once the process is gone", async () => {
    const proc = Bun.spawn(["unshare", "--net", "sleep", "60"], { stdout: "ignore", stderr: "ignore" });
    try {
      let ready = false;
      for (let i = 0; i < 100 && !ready; i++) {
        await Bun.sleep(10);
        ready = run(["readlink", `/proc/${proc.pid}/ns/net`]).out !== run(["readlink", "/proc/self/ns/net"]).out;
      }
      const id = `pid-${hex(4)}`;
      const netns = inst.ok(["create", "--network", net.name, "--pid", String(proc.pid), id]).trim();
      const inProcess = JSON.parse(Bun.spawnSync(["nsenter", "-t", String(proc.pid), "--net", "ip", "-j", "addr", "show", "eth0"]).stdout.toString());
      expect(inProcess[0].addr_info[0].local).toBe(inst.inspect(id).NetworkSettings.IPAddress);
      expect(JSON.parse(inst.ok(["gc", "--format", "json"])).containers).toEqual([]);
      // podman's State.Pid: the process whose netns it is, while it runs; 0 once it is gone
      expect(inst.ok(["inspect", "--format", "{{.State.Pid}}", id])).toBe(`${proc.pid}\n`);
      expect(inst.inspect(id).Pid).toBe(proc.pid);
      proc.kill("SIGKILL");
      await proc.exited;
      expect(inst.ok(["inspect", "--format", "{{.State.Pid}}", id])).toBe("0\n");
      const report = JSON.parse(inst.ok(["gc", "--format", "json"]));
      expect(report.containers).toEqual([id]);
      expect(existsSync(netns)).toBe(false);
    } finally {
      proc.kill("SIGKILL");
    }
  });

  test("run: inspect's State.Pid is the command's while it runs, a process in the container's netns; gc leaves the container alone", async () => {
    const gate = join(inst.dir, `gate-${hex(3)}`);
    writeFileSync(gate, "");
    const name = `runpid-${hex(3)}`;
    const proc = Bun.spawn([BINARY, "run", "--network", net.name, "--name", name, "--", "sh", "-c", `while [ -e ${gate} ]; do sleep 0.05; done`], {
      env: { ...process.env, ...inst.env },
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      let pid = 0;
      for (const end = Date.now() + 20_000; pid === 0 && Date.now() < end; await Bun.sleep(50)) {
        pid = Number(inst.cli(["inspect", "--format", "{{.State.Pid}}", name]).stdout.trim() || "0");
      }
      expect(readFileSync(`/proc/${pid}/comm`, "utf8")).toBe("sh\n");
      expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(statSync(inst.inspect(name).NetworkSettings.SandboxKey).ino);
      expect(inst.inspect(name).Pid).toBe(pid);
      expect(JSON.parse(inst.ok(["gc", "--format", "json"])).containers).toEqual([]);
      rmSync(gate);
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stderr).text()).toBe("");
    } finally {
      rmSync(gate, { force: true });
      proc.kill("SIGKILL");
      await proc.exited;
    }
  });
});
