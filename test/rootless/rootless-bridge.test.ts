// Issue 6's "done when", as the unprivileged test user: bridge networks through the shared rootless netns
// (seed v3): addresses, container to container, a published port whose server sees a peer in the bridge
// subnet, a PATH without sbin, connect/disconnect/reload, info and enter, a configured cidr, and two
// concurrent first runs making one rootless netns; after the last container nothing of it is left.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Subprocess } from "bun";
import { ctrnetAsUser, readUntil, rootlessUser, spawnCtrnetAsUser, stopPause, userProcesses, waitGone } from "../helpers/rootless.ts";
import { freePorts } from "../helpers/http.ts";
import { pluginCreateOptions, TEST_NETWORK_PLUGIN } from "../helpers/network-plugin.ts";
import { addUplink, UPLINK } from "../helpers/uplink.ts";

const runnable = process.getuid?.() === 0 && ["slirp4netns", "nc", "socat", "iptables"].every((p) => Bun.which(p) !== null);
const NET = "rbnet";
const NET2 = "rbnet2";

describe.skipIf(!runnable)("rootless bridge networks through the rootless netns", () => {
  let tmp: string;

  function ok(args: string[], env?: Record<string, string>): string {
    const r = ctrnetAsUser(args, { env });
    if (r.code !== 0) throw new Error(`ctrnet ${args.join(" ")}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  const netnsFile = () => join(rootlessUser().runtimeDir, "netns", "rootless-netns");
  const netnsDir = () => join(rootlessUser().runtimeDir, "ctrnet", "rootless-netns");
  const slirps = () => userProcesses().filter((p) => p.args.includes("slirp4netns") && p.args.includes("rootless-netns"));
  const pastas = () => userProcesses().filter((p) => p.args.includes("pasta") && p.args.includes("rootless-netns"));

  function expectNoRootlessNetns(): void {
    expect(slirps()).toEqual([]);
    expect(pastas()).toEqual([]);
    expect(existsSync(netnsFile())).toBe(false);
    expect(existsSync(netnsDir())).toBe(false);
  }


  /** `nc -l` in the container: every client's address goes to stderr ("Connection received on ADDR PORT"). */
  const ncServer = ["nc", "-l", "-k", "-v", "-n", "80"];

  /** Sends a line to addr:port from this (the host's) namespace; true once something accepted it. */
  async function send(host: string, port: number): Promise<boolean> {
    const nc = Bun.spawn(["nc", "-N", "-w", "2", host, String(port)], { stdin: new Blob(["hello\n"]), stdout: "ignore", stderr: "ignore" });
    return (await nc.exited) === 0;
  }

  async function sendUntil(host: string, port: number): Promise<void> {
    for (const end = Date.now() + 20_000; !(await send(host, port)); await Bun.sleep(100)) {
      if (Date.now() > end) throw new Error(`nothing accepted on ${host}:${port}`);
    }
  }

  /** A stream read line by line, across calls. */
  function lines(stream: ReadableStream<Uint8Array>): () => Promise<string> {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    return async () => {
      while (!buffered.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended after ${JSON.stringify(buffered)}`);
        buffered += decoder.decode(value, { stream: true });
      }
      const line = buffered.slice(0, buffered.indexOf("\n"));
      buffered = buffered.slice(line.length + 1);
      return line;
    };
  }

  async function untilLine(line: () => Promise<string>, pattern: RegExp): Promise<RegExpMatchArray> {
    for (;;) {
      const match = (await line()).match(pattern);
      if (match) return match;
    }
  }

  /** Once `nc -v` says it listens: the forwarder accepts on the host whether or not the server is up yet. */
  const listening = (line: () => Promise<string>) => untilLine(line, /Listening on/);

  /** The address of the next client the server's `nc -v` reports on stderr. */
  const nextClient = async (line: () => Promise<string>): Promise<string> => (await untilLine(line, /Connection received on (\S+)/))[1]!;

  /** The server address a connection to the host's 127.0.0.1:port reached, once one is answered. */
  async function reachedAt(port: number): Promise<string> {
    for (const end = Date.now() + 20_000; ; await Bun.sleep(100)) {
      const client = Bun.spawn(["socat", "-u", `TCP:127.0.0.1:${port},connect-timeout=2`, "-"], { stdout: "pipe", stderr: "ignore" });
      const seen = (await new Response(client.stdout).text()).trim();
      await client.exited;
      if (seen !== "") return seen;
      if (Date.now() > end) throw new Error(`nothing answered on 127.0.0.1:${port}`);
    }
  }

  async function stop(proc: Subprocess): Promise<number> {
    proc.kill("SIGTERM");
    return proc.exited;
  }

  beforeAll(async () => {
    rootlessUser();
    await stopPause();
    tmp = mkdtempSync(join(tmpdir(), "ctrnet-rootless-bridge-"));
    chmodSync(tmp, 0o777);
    ok(["network", "create", ...pluginCreateOptions(), "--subnet", "10.77.3.0/24", NET]);
    ok(["network", "create", ...pluginCreateOptions(), "--subnet", "10.77.4.0/24", NET2]);
  });

  afterEach(() => {
    expectNoRootlessNetns();
  });

  afterAll(async () => {
    ctrnetAsUser(["network", "rm", NET, NET2]);
    await stopPause();
    rmSync(tmp, { recursive: true, force: true });
    expect(userProcesses()).toEqual([]);
  });

  test("the first container gets 10.77.3.2/24 on eth0; afterwards the rootless netns is gone", () => {
    const out = ok(["run", "--network", NET, "--", "ip", "-4", "-o", "addr", "show", "eth0"]);
    expect(out).toMatch(/eth0\s+inet 10\.77\.3\.2\/24 /);
  });

  test("a PATH without /usr/sbin works (iptables is found for the plugins)", () => {
    const r = ctrnetAsUser(["run", "--network", NET, "--", "true"], { env: { PATH: "/usr/local/bin:/usr/bin" } });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("two containers reach each other; a published port answers from the host, whose loopback nc sees as the bridge's gateway (podman's rootlessport's source)", async () => {
    const port = freePorts(1);
    const server = spawnCtrnetAsUser(["run", "--network", NET, "--name", "srv", "-p", `127.0.0.1:${port}:80`, "--", "sh", "-c", `ip -4 -o addr show eth0; exec ${ncServer.join(" ")}`]);
    try {
      const { text } = await readUntil(server.stdout, "\n");
      const serverIP = text.match(/inet (10\.77\.3\.\d+)\//)![1]!;
      const clients = lines(server.stderr);
      await listening(clients);
      await sendUntil("127.0.0.1", port);
      // the forwarder keeps a client's address, but one on the host's loopback cannot be kept: it connects
      // from the rootless netns's address on the bridge, the network's gateway, as podman's rootlessport
      expect(await nextClient(clients)).toBe("10.77.3.1");

      // by name: ctrnet's DNS server runs in the rootless netns, on the network's gateway
      const client = ctrnetAsUser(["run", "--network", NET, "--", "sh", "-c", `ip -4 -o addr show eth0; getent ahostsv4 srv | head -n 1; echo hi | nc -N -w 2 srv 80`]);
      expect(client.code).toBe(0);
      expect(client.stdout).toContain(`\n${serverIP} `);
      const clientIP = client.stdout.match(/inet (10\.77\.3\.\d+)\//)![1]!;
      expect(clientIP).not.toBe(serverIP);
      expect(await nextClient(clients)).toBe(clientIP);

      const info = JSON.parse(ok(["rootless-netns", "info", "--format", "json"]));
      expect(info.exists).toBe(true);
      expect(info.slirp4netns.running).toBe(true);
      expect(info.address).toBe("10.0.2.100/24");
      expect(info.attached.map((a: { network: string }) => a.network)).toEqual([NET]);
      expect(slirps().map((p) => p.pid)).toEqual([info.slirp4netns.pid]);

      const inside = ok(["rootless-netns", "enter", "--", "sh", "-c", "ip -4 -o addr show tap0; cat /etc/resolv.conf"]);
      expect(inside).toContain("inet 10.0.2.100/24");
      expect(inside).toContain("nameserver 10.0.2.3\n");

      // The network's firewall is inside the rootless netns, the user's own: ctrnet's table there (none in
      // the host's), or the reference chain's iptables rules; its leases and records are under the user's dirs.
      const native = TEST_NETWORK_PLUGIN === "ctrnet";
      const firewall = ok(["rootless-netns", "enter", "--", "sh", "-c", native ? "nft list table inet ctrnet" : "iptables-save -t nat"]);
      expect(firewall).toContain(native ? "10.77.3.0/24" : `${serverIP}:80`);
      if (native) expect(firewall).toContain(`${serverIP} . 80`);
      if (native) expect(Bun.spawnSync(["nft", "list", "table", "inet", "ctrnet"], { stderr: "ignore" }).exitCode).not.toBe(0);
      const state = join(rootlessUser().runtimeDir, "ctrnet");
      expect(readdirSync(join(state, "cni", "networks", NET))).toContain(serverIP);
      expect(existsSync(join(state, "native")) ? readdirSync(join(state, "native")) : []).toHaveLength(native ? 1 : 0);
    } finally {
      expect(await stop(server)).toBe(128 + 15);
    }
  });

  test("a configured cidr: tap0 at cidr + 100; cidr + 3 is the rootless netns's nameserver and the upstream of the container's (ctrnet's DNS server)", async () => {
    const env = { CTRNET_ROOTLESS_NETNS_OPTIONS: "cidr=10.0.5.0/24" };
    const flag = join(tmp, "cidr-done");
    const script = `grep -m 1 nameserver /etc/resolv.conf; echo up; until [ -e ${flag} ]; do sleep 0.05; done`;
    const run = spawnCtrnetAsUser(["run", "--network", NET, "--", "sh", "-c", script], { env });
    try {
      const { text } = await readUntil(run.stdout, "up\n");
      // ctrnet's DNS server at the gateway, inside the rootless netns, forwards to slirp's DNS, which forwards
      // to the host's own resolver, even one on the host's loopback (podman 3 does the same)
      expect(text).toStartWith("nameserver 10.77.3.1\n");
      const dns = JSON.parse(readFileSync(join(rootlessUser().runtimeDir, "ctrnet", "dns", "config.json"), "utf8"));
      expect(dns.upstreams).toEqual([{ address: "10.0.5.3", port: 53 }]);
      const inside = ok(["rootless-netns", "enter", "--", "sh", "-c", "ip -4 -o addr show tap0; cat /etc/resolv.conf"], env);
      expect(inside).toContain("inet 10.0.5.100/24");
      expect(inside).toContain("nameserver 10.0.5.3\n");
    } finally {
      writeFileSync(flag, "");
    }
    expect(await run.exited).toBe(0);
  });

  test("connect and disconnect move the published port to the next network; reload keeps IP and MAC", async () => {
    const id = `rb-${crypto.randomUUID().slice(0, 8)}`;
    const port = freePorts(1);
    const netns = ok(["create", "--network", NET, "-p", `127.0.0.1:${port}:80`, id]).trim();
    // Loopback clients all appear as the bridge's gateway: the server says where it was reached.
    const server = spawnCtrnetAsUser(["netns", "exec", basename(netns), "socat", "TCP4-LISTEN:80,fork,reuseaddr", "SYSTEM:echo $SOCAT_SOCKADDR"]);
    try {
      expect(await reachedAt(port)).toStartWith("10.77.3.");

      ok(["connect", NET2, id]);
      const before = JSON.parse(ok(["inspect", id]))[0].NetworkSettings.Networks;
      ok(["reload", id]);
      const after = JSON.parse(ok(["inspect", id]))[0].NetworkSettings.Networks;
      for (const net of [NET, NET2]) {
        expect(after[net].IPAddress).toBe(before[net].IPAddress);
        expect(after[net].MacAddress).toBe(before[net].MacAddress);
      }
      expect(await reachedAt(port)).toStartWith("10.77.3.");

      ok(["disconnect", NET, id]);
      expect(await reachedAt(port)).toStartWith("10.77.4.");
      expect(existsSync(netnsFile())).toBe(true);

      ok(["disconnect", NET2, id]);
      expect(await send("127.0.0.1", port)).toBe(false);
      expectNoRootlessNetns();
    } finally {
      await stop(server);
      ok(["rm", "-f", id]);
    }
  });

  test("CTRNET_ROOTLESS_NETWORK_CMD=pasta: the rootless netns goes out through pasta, with the host's address; a published port answers; the rootless netns resolves through pasta's DNS forwarder", async () => {
    const env = { CTRNET_ROOTLESS_NETWORK_CMD: "pasta" };
    const removeUplink = addUplink();
    const port = freePorts(1);
    const server = spawnCtrnetAsUser(["run", "--network", NET, "-p", `127.0.0.1:${port}:80`, "--", ...ncServer], { env });
    try {
      const clients = lines(server.stderr);
      await listening(clients);
      await sendUntil("127.0.0.1", port);
      // a client on the host's loopback comes from the rootless netns's address on the bridge, the gateway
      expect(await nextClient(clients)).toBe("10.77.3.1");

      const info = JSON.parse(ok(["rootless-netns", "info", "--format", "json"], env));
      expect(info).toMatchObject({ exists: true, program: "pasta", address: `${UPLINK.ipv4}/${UPLINK.prefix4}`, gateway: UPLINK.gateway4, dns: "169.254.1.1" });
      expect(info.slirp4netns.running).toBe(true);
      expect(pastas().map((p) => p.pid)).toEqual([info.slirp4netns.pid]);
      expect(slirps()).toEqual([]);
      const inside = ok(["rootless-netns", "enter", "--", "sh", "-c", "ip -4 -o addr; cat /etc/resolv.conf"], env);
      expect(inside).toContain(`inet ${UPLINK.ipv4}/${UPLINK.prefix4}`);
      expect(inside).toContain("nameserver 169.254.1.1\n");
    } finally {
      expect(await stop(server)).toBe(128 + 15);
      for (const p of pastas()) await waitGone(p.pid);
      removeUplink();
    }
  });

  const ip = (...args: string[]) => expect(Bun.spawnSync(["ip", ...args]).exitCode).toBe(0);

  test("behind pasta's rootless netns, host.containers.internal is never an address pasta copied into it (podman #22653): none with one host interface, else another host address", async () => {
    const env = { CTRNET_ROOTLESS_NETWORK_CMD: "pasta" };
    const removeUplink = addUplink();
    try {
      const alone = ctrnetAsUser(["run", "--network", NET, "--", "cat", "/etc/hosts"], { env });
      expect(alone.code).toBe(0);
      expect(alone.stdout).not.toContain("host.containers.internal");
      ip("-4", "addr", "add", "198.51.100.7/24", "dev", UPLINK.peer);
      const other = ctrnetAsUser(["run", "--network", NET, "--", "cat", "/etc/hosts"], { env });
      expect(other.code).toBe(0);
      expect(other.stdout).toContain("198.51.100.7\thost.containers.internal host.docker.internal\n");
      for (const p of pastas()) await waitGone(p.pid);
      // behind slirp4netns (its own 10.0.2.0/24 inside) the host's first address, as before, whichever it is
      ip("-4", "addr", "del", "198.51.100.7/24", "dev", UPLINK.peer);
      const slirp = ok(["run", "--network", NET, "--", "cat", "/etc/hosts"]);
      expect(slirp).toContain(`${UPLINK.ipv4}\thost.containers.internal host.docker.internal\n`);
    } finally {
      removeUplink();
    }
  });

  test("two concurrent first runs make exactly one rootless netns", async () => {
    const flag = join(tmp, "concurrent-done");
    const runs = [0, 1].map(() =>
      spawnCtrnetAsUser(["run", "--network", NET, "--", "sh", "-c", `ip -4 -o addr show eth0; until [ -e ${flag} ]; do sleep 0.05; done`]),
    );
    try {
      const addresses = await Promise.all(runs.map(async (r) => (await readUntil(r.stdout, "\n")).text.match(/inet (\S+)/)?.[1]));
      if (addresses.includes(undefined)) {
        writeFileSync(flag, "");
        const said = await Promise.all(runs.map(async (r) => `exit ${await r.exited}: ${(await new Response(r.stderr).text()).trim()}`));
        throw new Error(`a run printed no address: ${said.join(" | ")}`);
      }
      expect(addresses[0]).toStartWith("10.77.3.");
      expect(addresses[1]).toStartWith("10.77.3.");
      expect(addresses[0]).not.toBe(addresses[1]);
      expect(slirps().length).toBe(1);
    } finally {
      writeFileSync(flag, "");
    }
    expect(await Promise.all(runs.map((r) => r.exited))).toEqual([0, 0]);
    for (const p of slirps()) await waitGone(p.pid);
  });

  test("network rm while the rootless netns lives takes the network's bridge (and its table elements) out of it; a new network there works", () => {
    const keep = `rk-${crypto.randomUUID().slice(0, 8)}`;
    const [gone, next] = [`rbgone-${crypto.randomUUID().slice(0, 4)}`, `rbnext-${crypto.randomUUID().slice(0, 4)}`];
    ok(["create", "--network", NET2, keep]);
    try {
      ok(["network", "create", ...pluginCreateOptions(), "--subnet", "10.77.6.0/24", gone]);
      const bridge = JSON.parse(ok(["network", "inspect", gone]))[0].network_interface as string;
      expect(ok(["run", "--network", gone, "--", "ip", "-4", "-o", "addr", "show", "eth0"])).toContain("inet 10.77.6.2/24");
      const inside = (script: string) => ctrnetAsUser(["rootless-netns", "enter", "--", "sh", "-c", script]);
      expect(inside(`ip link show ${bridge}`).code).toBe(0);
      ok(["network", "rm", gone]);
      expect(inside(`ip link show ${bridge}`).code).not.toBe(0);
      const native = TEST_NETWORK_PLUGIN === "ctrnet";
      if (native) expect(inside("nft list table inet ctrnet").stdout).not.toContain("10.77.6.0/24");

      // the next network takes the freed bridge name, with a subnet of its own that its containers get out of
      ok(["network", "create", ...pluginCreateOptions(), "--interface-name", bridge, "--subnet", "10.77.7.0/24", next]);
      try {
        expect(ok(["run", "--network", next, "--", "ip", "-4", "-o", "addr", "show", "eth0"])).toContain("inet 10.77.7.2/24");
        if (native) expect(inside("nft list table inet ctrnet").stdout).toContain("10.77.7.0/24");
      } finally {
        ctrnetAsUser(["network", "rm", next]);
      }
    } finally {
      ok(["rm", keep]);
    }
  });
});
