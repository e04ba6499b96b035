// create/rm with a published port served from inside the container, through the real plugins: it answers
// on 127.0.0.1 and on a host address, `port` and `inspect` say where, `reload` brings it back after the
// DNAT rules are flushed (keeping IP and MAC), `stats` counts the traffic, and nothing is left afterwards.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  addressesInside,
  fetchText,
  hex,
  hostAddress,
  Installation,
  privileged,
  run,
  startWebServer,
  stopProcess,
  type TestNetwork,
} from "./lifecycle-helpers.ts";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WATCHDOG_SCRIPT } from "../../src/lifecycle/supervisor-loop.ts";
import { startTimeOf } from "../../src/process/supervise.ts";
import { BINARY } from "../helpers/binary.ts";
import { flushPortForwarding } from "../helpers/network-plugin.ts";

describe.skipIf(!privileged)("ctrnet create/rm with published ports", () => {
  let inst: Installation;
  let net: TestNetwork;
  let host: { address: string; remove: () => void };

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("ports");
    host = hostAddress(`192.168.${200 + (Number.parseInt(hex(1), 16) % 50)}.10`);
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => {
    host.remove();
    inst.dispose();
  });

  const hostPort = () => 20000 + Math.floor(Math.random() * 10000);

  test("a published port answers on 127.0.0.1 and the host's address; port and inspect say where", async () => {
    const id = `web-${hex(4)}`;
    const port = hostPort();
    const netns = inst.ok(["create", "--network", net.name, "-p", `${port}:80`, "--name", `n${id}`, id]).trim();
    expect(netns.startsWith(`${inst.env.CTRNET_NETNS_DIR}/cni-`)).toBe(true);
    const server = await startWebServer(netns, `hello from ${id}`, inst.dir);
    try {
      expect(await fetchText(`http://127.0.0.1:${port}/index.html`)).toBe(`hello from ${id}`);
      expect(await fetchText(`http://${host.address}:${port}/index.html`)).toBe(`hello from ${id}`);
    } finally {
      await stopProcess(server);
    }
    expect(inst.ok(["port", id])).toBe(`80/tcp -> 0.0.0.0:${port}\n`);
    expect(inst.ok(["port", `n${id}`, "80"])).toBe(`0.0.0.0:${port}\n`);
    const missing = inst.cli(["port", id, "99"]);
    expect(missing.code).toBe(1); // a runtime "not found", as rm's
    expect(missing.stderr).toContain('failed to find published port "99/tcp"');

    const settings = inst.inspect(id).NetworkSettings;
    const inside = addressesInside(netns);
    expect(settings.SandboxKey).toBe(netns);
    // as podman's makeInspectPortBindings: no host IP shows as 0.0.0.0
    expect(settings.Ports).toEqual({ "80/tcp": [{ HostIp: "0.0.0.0", HostPort: String(port) }] });
    expect(inside.eth0!.inet).toEqual([`${settings.IPAddress}/${settings.IPPrefixLen}`]);
    expect(settings.MacAddress).toBe(inside.eth0!.mac);
    expect(settings.Gateway).toBe(`${net.prefix}.1`);
    expect(settings.Networks[net.name].IPAddress).toBe(settings.IPAddress);
    expect(settings.Networks[net.name].Aliases).toEqual([id.slice(0, 12)]);
    expect(inside.lo).toBeDefined();

    expect(inst.ok(["rm", id])).toBe(`${id}\n`);
  });

  test("a host port another program listens on is refused with podman's words, and nothing is made", () => {
    const port = hostPort();
    const server = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
    try {
      for (const spec of [`127.0.0.1:${port}:80`, `${port}:80`]) {
        const r = inst.cli(["create", "--network", net.name, "-p", spec, `busy-${hex(3)}`]);
        expect({ spec, code: r.code, stdout: r.stdout }).toEqual({ spec, code: 2, stdout: "" });
        expect(r.stderr).toBe(`ctrnet: error: cannot listen on the TCP port: listen tcp4 ${spec.startsWith("127") ? "127.0.0.1" : "0.0.0.0"}:${port}: bind: address already in use\n`);
      }
    } finally {
      server.stop(true);
    }
    // a UDP socket on the port does not stand in the way of a TCP publication, and the other way round
    const id = `free-${hex(3)}`;
    inst.ok(["create", "--network", net.name, "-p", `127.0.0.1:${port}:80/udp`, id]);
    inst.ok(["rm", id]);
  });

  /**
   * Whether another program can listen on the port: a socat that binds it and then ends by itself (TCP: it
   * stops waiting for a connection; UDP: for a datagram), so the answer never depends on how long socat
   * takes to start. (A socat killed after a fixed time read as "free" when a busy machine had not let it
   * reach its bind by then.)
   */
  const tryListen = (p: number, protocol: "tcp" | "udp"): string => {
    const argv =
      protocol === "tcp"
        ? ["socat", "-u", `TCP-LISTEN:${p},bind=127.0.0.1,accept-timeout=0.01`, "/dev/null"]
        : ["socat", "-T", "0.01", "-u", `UDP-RECV:${p},bind=127.0.0.1`, "/dev/null"];
    const r = Bun.spawnSync(argv, { stderr: "pipe" });
    const stderr = r.stderr.toString();
    if (stderr.includes("Address already in use")) return "in use";
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${stderr}`);
    return "free";
  };

  const supervisorPidFile = () => {
    const dir = join(inst.env.CTRNET_ROOT!, "supervisors");
    const name = readdirSync(dir).find((f) => f.endsWith(".json"));
    return name ? join(dir, name) : undefined;
  };
  const supervisorFile = () => {
    const path = supervisorPidFile();
    return path ? (JSON.parse(readFileSync(path, "utf8")) as { pid: number; watchdog?: { pid: number } }) : undefined;
  };
  /** The nice value of each thread of pid (a nice value is a thread's on Linux). */
  const nicesOf = (pid: number) => readdirSync(`/proc/${pid}/task`).map((tid) => readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[16]);
  const until = async (what: string, probe: () => boolean) => {
    // a bound for a broken run, not a timing assertion
    for (const end = Date.now() + 20_000; !probe(); await Bun.sleep(50)) if (Date.now() > end) throw new Error(`never happened: ${what}`);
  };
  /** Kills the supervisor and its watchdog both (stopped first, so that neither sees the other go); returns once it is gone. */
  const killSupervisor = async (proc: { pid: number; watchdog?: { pid: number } }) => {
    process.kill(proc.pid, "SIGSTOP");
    if (proc.watchdog) process.kill(proc.watchdog.pid, "SIGKILL");
    process.kill(proc.pid, "SIGKILL");
    // its sockets close with its last thread, which may outlive its leader's turning zombie
    while (existsSync(`/proc/${proc.pid}/task`) && readdirSync(`/proc/${proc.pid}/task`).length > 1) await Bun.sleep(10);
    while (existsSync(`/proc/${proc.pid}/stat`) && !readFileSync(`/proc/${proc.pid}/stat`, "utf8").includes(") Z")) await Bun.sleep(10);
  };

  test("as podman's conmon, a created container's host ports are held until rm: another program cannot listen on them", async () => {
    const port = hostPort();
    const [a, b, c] = [`hold-${hex(3)}`, `hold-${hex(3)}`, `hold-${hex(3)}`];
    inst.ok(["create", "--network", net.name, "-p", `${port}-${port + 1}:80-81`, "-p", `127.0.0.1:${port + 2}:53/udp`, a]);
    expect([tryListen(port, "tcp"), tryListen(port + 1, "tcp"), tryListen(port + 2, "udp")]).toEqual(["in use", "in use", "in use"]);
    // a second container keeps the supervisor: rm of the first lets go of its ports before it returns
    inst.ok(["create", "--network", net.name, "-p", `${port + 3}:80`, b]);
    inst.ok(["rm", a]);
    expect([tryListen(port, "tcp"), tryListen(port + 2, "udp"), tryListen(port + 3, "tcp")]).toEqual(["free", "free", "in use"]);
    // ctrnet itself may publish a port just let go of
    inst.ok(["create", "--network", net.name, "-p", `${port}:80`, c]);
    expect(tryListen(port, "tcp")).toBe("in use");
    // the supervisor killed: its watchdog starts another, which holds the ports again with no command run
    const first = supervisorFile()!;
    await until("the supervisor has a watchdog", () => supervisorFile()?.watchdog !== undefined);
    // never at a lower priority, in any of its threads: it restarts a dead helper at once, on a busy machine too
    expect(new Set(nicesOf(first.pid))).toEqual(new Set(["0"]));
    process.kill(first.pid, "SIGKILL");
    await until("another supervisor with a watchdog of its own", () => {
      const now = supervisorFile();
      return now !== undefined && now.pid !== first.pid && now.watchdog !== undefined && existsSync(`/proc/${now.pid}`);
    });
    await until("the ports held again", () => tryListen(port, "tcp") === "in use" && tryListen(port + 3, "tcp") === "in use");
    // the supervisor and its watchdog killed both (stopped first, so that neither sees the other go): the
    // ports are free until reload starts a supervisor again
    await killSupervisor(supervisorFile()!);
    expect(tryListen(port + 3, "tcp")).toBe("free");
    expect(inst.ok(["reload", b])).toBe(`${b}\n`);
    expect([tryListen(port, "tcp"), tryListen(port + 3, "tcp")]).toEqual(["in use", "in use"]);
    inst.ok(["rm", b, c]);
    expect([tryListen(port, "tcp"), tryListen(port + 3, "tcp")]).toEqual(["free", "free"]);
  });

  test("a watchdog whose supervisor still shows as running while it exits (its files closed already) takes over all the same", async () => {
    // The kernel closes a killed process's files, and so the watchdog's pipe, before the process turns zombie;
    // on a loaded machine the supervisor the watchdog execs can look at it within that window. Here a process
    // that lives on stands for that exiting supervisor, and the test holds the pipe's write end.
    const port = hostPort();
    const id = `dying-${hex(3)}`;
    inst.ok(["create", "--network", net.name, "-p", `127.0.0.1:${port}:80`, id]);
    await until("the supervisor has a watchdog", () => supervisorFile()?.watchdog !== undefined);
    await killSupervisor(supervisorFile()!);
    expect(tryListen(port, "tcp")).toBe("free");
    const dying = Bun.spawn(["sleep", "1000"], { stdio: ["ignore", "ignore", "ignore"] });
    const watchdog = Bun.spawn(["sh", "-c", WATCHDOG_SCRIPT, "ctrnet-supervisor-watchdog", BINARY, "_supervise"], {
      stdio: ["pipe", "ignore", "ignore"],
      env: { ...process.env, ...inst.env },
    });
    try {
      const record = { pid: dying.pid, startTime: startTimeOf(dying.pid), watchdog: { pid: watchdog.pid, startTime: startTimeOf(watchdog.pid) } };
      writeFileSync(supervisorPidFile()!, JSON.stringify(record));
      // the write end closed, as the dying supervisor's files are
      await watchdog.stdin.end();
      await until("the watchdog's supervisor, with a watchdog of its own", () => {
        const now = supervisorFile();
        return now?.pid === watchdog.pid && now.watchdog !== undefined;
      });
      await until("the ports held again", () => tryListen(port, "tcp") === "in use");
    } finally {
      dying.kill("SIGKILL");
    }
    inst.ok(["rm", id]);
    expect(tryListen(port, "tcp")).toBe("free");
  });

  test("the create that starts the supervisor hands it the ports it bound: held when create returns, with nothing to ask it", () => {
    // a state root whose supervisor socket path is too long for a unix socket: the supervisor cannot be asked
    // to sync, so only ports handed to it at its start can be held when create returns
    const long = new Installation();
    try {
      long.env.CTRNET_ROOT = join(long.dir, "r".repeat(100));
      const n = long.network("long");
      const port = hostPort();
      const id = `hand-${hex(3)}`;
      // at level warn, a create that had to ask the supervisor would say it could not
      const r = long.cli(["--log-level", "warn", "create", "--network", n.name, "-p", `127.0.0.1:${port}:80`, "-p", `127.0.0.1:${port + 1}:53/udp`, id]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect([tryListen(port, "tcp"), tryListen(port + 1, "udp")]).toEqual(["in use", "in use"]);
      long.ok(["rm", id]);
      expect([tryListen(port, "tcp"), tryListen(port + 1, "udp")]).toEqual(["free", "free"]);
      long.expectClean();
    } finally {
      long.dispose();
    }
  });

  test("a port without a host port gets a free one", () => {
    const id = `free-${hex(4)}`;
    inst.ok(["create", "--network", net.name, "-p", "80", "-p", "127.0.0.1::53/udp", id]);
    const lines = inst.ok(["port", id]).trim().split("\n");
    expect(lines[0]).toMatch(/^80\/tcp -> 0\.0\.0\.0:\d+$/);
    expect(lines[1]).toMatch(/^53\/udp -> 127\.0\.0\.1:\d+$/);
    expect(Number(lines[0]!.split(":")[1])).toBeGreaterThan(0);
    inst.ok(["rm", id]);
  });

  test("reload brings the port back after the DNAT rules are flushed, with the same IP and MAC; --all too", async () => {
    const id = `rl-${hex(4)}`;
    const port = hostPort();
    const netns = inst.ok(["create", "--network", net.name, "-p", `${port}:80`, id]).trim();
    const server = await startWebServer(netns, "reloaded", inst.dir);
    try {
      const before = addressesInside(netns).eth0!;
      expect(await fetchText(`http://${host.address}:${port}/`)).toBe("reloaded");

      expect(flushPortForwarding(net.plugin)).toBe(true);
      expect(await fetchText(`http://${host.address}:${port}/`, 1000)).toBeNull();
      expect(inst.ok(["reload", id])).toBe(`${id}\n`);
      expect(await fetchText(`http://${host.address}:${port}/`)).toBe("reloaded");
      expect(addressesInside(netns).eth0).toEqual(before);

      expect(flushPortForwarding(net.plugin)).toBe(true);
      expect(await fetchText(`http://127.0.0.1:${port}/`, 1000)).toBeNull();
      expect(inst.ok(["reload", "--all"])).toBe(`${id}\n`);
      expect(await fetchText(`http://127.0.0.1:${port}/`)).toBe("reloaded");
      expect(addressesInside(netns).eth0).toEqual(before);
      expect(inst.inspect(id).NetworkSettings.MacAddress).toBe(before.mac);
    } finally {
      await stopProcess(server);
    }
    inst.ok(["rm", id]);
  });

  test("stats counters grow after traffic", async () => {
    const id = `st-${hex(4)}`;
    const port = hostPort();
    const netns = inst.ok(["create", "--network", net.name, "-p", `${port}:80`, id]).trim();
    const eth0 = () => (JSON.parse(inst.ok(["stats", id, "--format", "json"])) as any[]).find((s) => s.interface === "eth0");
    const before = eth0();
    expect(before).toBeDefined();
    const server = await startWebServer(netns, "x".repeat(100_000), inst.dir);
    try {
      for (let i = 0; i < 3; i++) expect((await fetchText(`http://127.0.0.1:${port}/`))?.length).toBe(100_000);
    } finally {
      await stopProcess(server);
    }
    const after = eth0();
    expect(after.txBytes).toBeGreaterThan(before.txBytes + 300_000);
    expect(after.rxPackets).toBeGreaterThan(before.rxPackets);
    expect(inst.ok(["stats", id])).toMatch(/^INTERFACE +RX BYTES/);
    inst.ok(["rm", id]);
  });
});
