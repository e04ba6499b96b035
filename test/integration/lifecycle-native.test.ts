// ctrnet's own containers on a network served by ctrnet's plugin (`type: ctrnet`): the CNI runtime runs the
// plugin in its own process, so `create` and `rm` start no other program (strace shows one execve, ctrnet's
// own), the published port serves from the nftables table, and rm leaves no lease, link, element or record.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSysctl } from "../../src/netns/index.ts";
import { BINARY } from "../helpers/binary.ts";
import { hostVeths } from "./cni-helpers.ts";
import { fetchText, hex, Installation, privileged, run, startWebServer, stopProcess } from "./lifecycle-helpers.ts";

const runnable = privileged && Bun.which("strace") !== null;

describe.skipIf(!runnable)("ctrnet create/rm on a native network", () => {
  let inst: Installation;
  let scratch: string;
  let conflist: string;
  const network = `nat-${hex(3)}`;
  const bridge = `cn-${network}`.slice(0, 15);
  const leases = () => {
    const dir = join(inst.ipamDir, network);
    return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d/.test(f)) : [];
  };

  beforeAll(() => {
    inst = new Installation();
    scratch = mkdtempSync(join(tmpdir(), "ctrnet-native-"));
    conflist = inst.ok(["cni", "conflist", network, "--subnet", "10.47.3.0/24", "--ipam-data-dir", inst.ipamDir]);
    writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${network}.conflist`), conflist);
  });

  afterEach(() => {
    inst.removeAll();
    // the network's bridge and ctrnet's table outlive its containers, as a network's do
    run(["ip", "link", "del", bridge]);
    run(["nft", "delete", "table", "inet", "ctrnet"]);
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
    inst?.dispose();
  });

  /** The command's execve calls, every process it starts included. */
  function execs(args: string[]): { code: number | null; stdout: string; programs: string[] } {
    const trace = join(scratch, `trace-${hex(3)}`);
    const r = Bun.spawnSync(["strace", "-f", "-qq", "-e", "trace=execve", "-o", trace, BINARY, ...args], {
      env: { ...process.env, ...inst.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const programs = readFileSync(trace, "utf8")
      .split("\n")
      .filter((l) => l.includes("execve(") && !l.includes("ENOENT"))
      .map((l) => /execve\("([^"]+)"/.exec(l)?.[1] ?? l);
    return { code: r.exitCode, stdout: r.stdout.toString(), programs };
  }

  test("network create -o plugin=ctrnet makes such a network with podman's options; isolation; bad options refused", async () => {
    const name = `natc-${hex(3)}`;
    expect(inst.ok(["network", "create", "-o", "plugin=ctrnet", "-o", "isolate=true", "--subnet", "10.47.4.0/24", name])).toBe(`${name}\n`);
    const conf = JSON.parse(readFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${name}.conflist`), "utf8"));
    expect(conf.plugins).toHaveLength(1);
    expect(conf.plugins[0]).toMatchObject({ type: "ctrnet", isolate: "true", ipam: { type: "host-local", ranges: [[{ subnet: "10.47.4.0/24", gateway: "10.47.4.1" }]] } });
    const [info] = JSON.parse(inst.ok(["network", "inspect", name]));
    expect(info).toMatchObject({ driver: "bridge", subnets: [{ subnet: "10.47.4.0/24", gateway: "10.47.4.1" }] });
    const id = `natc-${hex(4)}`;
    const netns = inst.ok(["create", "--network", name, id]).trim();
    expect(inst.inspect(id).NetworkSettings.IPAddress).toBe("10.47.4.2");
    expect(run(["nsenter", `--net=${netns}`, "busybox", "ping", "-c", "1", "-W", "2", "10.47.4.1"]).ok).toBe(true);
    expect(run(["nft", "list", "set", "inet", "ctrnet", "isolated"]).out).toContain(info.network_interface);
    inst.ok(["rm", id]);
    inst.ok(["network", "rm", name]);
    expect(run(["nft", "list", "table", "inet", "ctrnet"]).ok).toBe(false);
    for (const [opts, words] of [
      [["-o", "plugin=cni", "-o", "isolate=true"], "--opt isolate needs ctrnet's own plugin, not --opt plugin=cni: the reference plugins cannot isolate networks"],
      [["-o", "plugin=other"], "invalid --opt plugin=other: use ctrnet or cni"],
      [["-o", "plugin=ctrnet", "-o", "isolate=yes"], "invalid --opt isolate=yes: use true, false or strict"],
    ] as const) {
      const r = inst.cli(["network", "create", ...opts, `bad-${hex(3)}`]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `ctrnet: error: ${words}\n` });
    }
  }, 60_000);

  test("create and rm start no other program; the port serves; nothing is left", async () => {
    const id = `nat-${hex(4)}`;
    const port = 20000 + Math.floor(Math.random() * 10000);
    // The first container with a published port starts the state root's helper supervisor, which holds
    // published host ports as podman's conmon does (one process per root, as the DNS server is): it runs
    // before the traced create, which then starts nothing (strace -f would also wait for it to end); rm
    // starts nothing either way.
    const first = `nat-${hex(4)}`;
    inst.ok(["create", "--network", network, "-p", `127.0.0.1:${port + 1}:80`, first]);
    const created = execs(["create", "--network", network, "-p", `127.0.0.1:${port}:80`, id]);
    expect(created.code).toBe(0);
    expect(created.programs).toEqual([BINARY]);
    inst.ok(["rm", first]);
    const netns = created.stdout.trim();
    const ip = inst.inspect(id).NetworkSettings.IPAddress as string;
    expect(ip).toStartWith("10.47.3.");
    expect(leases()).toEqual([ip]);
    const server = await startWebServer(netns, `native ${id}`, scratch);
    try {
      expect(await fetchText(`http://127.0.0.1:${port}/index.html`)).toBe(`native ${id}`);
      expect(await fetchText(`http://${ip}/index.html`)).toBe(`native ${id}`);
    } finally {
      await stopProcess(server);
    }
    const removed = execs(["rm", id]);
    expect(removed.code).toBe(0);
    expect(removed.programs).toEqual([BINARY]);
    expect(leases()).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(readdirSync(join(inst.env.CTRNET_ROOT!, "native"))).toEqual([]);
    expect(run(["nft", "list", "map", "inet", "ctrnet", "hostports4"]).out).not.toContain(`${port}`);

    // network rm takes the bridge, the network's elements and, as the last native network, the table
    expect(inst.ok(["network", "rm", network])).toBe(`${network}\n`);
    expect(run(["ip", "link", "show", bridge]).ok).toBe(false);
    expect(run(["nft", "list", "table", "inet", "ctrnet"]).ok).toBe(false);
  }, 60_000);

  test("rm of a container whose netns a process still holds (a web server in it) takes the veth pair, address and record all the same", async () => {
    // rm removes such a netns first and leaves the pair to the kernel, which removes it with the netns's
    // last reference; here that reference outlives the rm, so the pair is removed by rm itself
    // (the test before removed the network)
    writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${network}.conflist`), conflist);
    const id = `nat-${hex(4)}`;
    const netns = inst.ok(["create", "--network", network, id]).trim();
    const ip = inst.inspect(id).NetworkSettings.IPAddress as string;
    const server = await startWebServer(netns, `held ${id}`, scratch);
    try {
      expect(hostVeths()).toHaveLength(1);
      // the order, as the command's phase trace gives it: the netns went before the DEL looked for the pair
      const rm = Bun.spawnSync([BINARY, "rm", id], { env: { ...process.env, ...inst.env, CTRNET_TRACE_PHASES: "1" }, stdout: "pipe", stderr: "pipe" });
      expect(rm.exitCode).toBe(0);
      const phases = rm.stderr.toString().split("\n").map((l) => /^ctrnet: phase \S+ \S+ (.*)$/.exec(l)?.[1]).filter((p) => p !== undefined);
      expect(phases.indexOf("teardown: netns removed first")).toBeGreaterThan(-1);
      expect(phases.indexOf("teardown: netns removed first")).toBeLessThan(phases.indexOf("detach: veth removed"));
      expect(hostVeths()).toEqual([]);
      expect(leases()).not.toContain(ip);
      expect(existsSync(netns)).toBe(false);
      expect(inst.ok(["ls", "-q"]).trim()).toBe("");
      // the process still runs, in a netns of nothing but lo
      expect(server.exitCode).toBeNull();
      expect(run(["nsenter", `--net=/proc/${server.pid}/ns/net`, "ip", "-o", "link", "show"]).out).not.toContain("eth0");
    } finally {
      await stopProcess(server);
    }
  }, 60_000);

  test("the netns create makes has lo up and IPv6 autoconf off (bridge) as it is made, eth0 no IPv6 address on an IPv4 network; a none container's keeps autoconf", () => {
    // the test before removes the network at its end
    writeFileSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, `${network}.conflist`), conflist);
    const id = `nat-${hex(4)}`;
    const netns = inst.ok(["create", "--network", network, id]).trim();
    expect(run(["nsenter", `--net=${netns}`, "ip", "-o", "link", "show", "lo"]).out).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
    const hasIPv6 = existsSync("/proc/sys/net/ipv6");
    if (hasIPv6) {
      expect(readSysctl(["ipv6", "conf", "default", "autoconf"], netns)).toBe("0");
      expect(readSysctl(["ipv6", "conf", "eth0", "autoconf"], netns)).toBe("0");
      // an IPv4-only network: no IPv6 address on eth0, not even a link-local one (plumbing.ts containerSettings)
      const v6 = run(["nsenter", `--net=${netns}`, "ip", "-6", "-o", "addr", "show", "dev", "eth0"]);
      expect({ ok: v6.ok, out: v6.out.trim() }).toEqual({ ok: true, out: "" });
    }
    const none = `none-${hex(4)}`;
    const noneNetns = inst.ok(["create", "--network", "none", none]).trim();
    expect(run(["nsenter", `--net=${noneNetns}`, "ip", "-o", "link", "show", "lo"]).out).toMatch(/<LOOPBACK,UP,LOWER_UP>/);
    if (hasIPv6) expect(readSysctl(["ipv6", "conf", "default", "autoconf"], noneNetns)).toBe("1");
  }, 30_000);
});
