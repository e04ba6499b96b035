// slirp4netns for real: root, inside a private network and mount namespace (the runner's, or
// `unshare --net --mount --propagation private bun test test/integration/slirp4netns.test.ts`).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MNT_DETACH, umount2 } from "../../ffi/libc.ts";
import { addHostFwd, listHostFwd, removeHostFwd } from "../../src/drivers/slirp4netns/api.ts";
import { probeSlirp4netns } from "../../src/drivers/slirp4netns/features.ts";
import { hostLookup } from "../../src/drivers/slirp4netns/host-lookup.ts";
import { parseSlirp4netnsOptions } from "../../src/drivers/slirp4netns/options.ts";
import { type Slirp4netns, type StartSlirp4netnsInput, startSlirp4netns } from "../../src/drivers/slirp4netns/start.ts";
import { createNetns, type Netns, removeNetns } from "../../src/netns/index.ts";
import { withNetns } from "../helpers/netns.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/slirp4netns");
const SLIRP4NETNS = Bun.which("slirp4netns");
// Never on the machine's own network: only under the runner, or in a fresh namespace that has nothing
// but loopback (as `unshare --net` makes it).
const onlyLoopback = readFileSync("/proc/net/dev", "utf8").split("\n").slice(2).every((l) => l.trim() === "" || l.trim().startsWith("lo:"));
const privateNetns = process.env.CTRNET_TEST_PRIVATE === "1" || onlyLoopback;
const runnable = process.getuid?.() === 0 && privateNetns && SLIRP4NETNS !== null;

const options = (...list: string[]) => parseSlirp4netnsOptions(list, hostLookup);

let dir: string;

beforeAll(() => {
  if (!runnable) return;
  Bun.spawnSync(["ip", "link", "set", "lo", "up"]);
  dir = mkdtempSync(join(tmpdir(), "ctrnet-slirp4netns-"));
});

afterAll(() => {
  if (!runnable) return;
  // createNetns made dir a shared bind mount of itself
  try {
    umount2(join(dir, "netns"), MNT_DETACH);
  } catch {
    // never made a namespace: nothing mounted
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh netns, and slirp4netns for it if input is given; both gone afterwards, whatever happens. */
async function withSlirp(input: Omit<StartSlirp4netnsInput, "netnsPath"> | null, fn: (ns: Netns, slirp: Slirp4netns) => Promise<void>): Promise<void> {
  const ns = createNetns({ dir: join(dir, "netns") });
  try {
    if (input === null) return await fn(ns, undefined as never);
    const slirp = await startSlirp4netns({ ...input, netnsPath: ns.path } as StartSlirp4netnsInput);
    try {
      await fn(ns, slirp);
    } finally {
      await slirp.stop();
    }
  } finally {
    removeNetns(ns.path);
  }
}

function ipJson(ns: Netns, ...args: string[]): any {
  const run = withNetns(ns.path, () => Bun.spawnSync(["ip", "-j", ...args], { stderr: "pipe" }));
  if (run.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${run.stderr}`);
  return JSON.parse(run.stdout.toString());
}

/** Runs argv in ns and returns its exit code and output; async, so servers in this process can answer. */
async function runIn(ns: Netns, argv: string[]): Promise<{ code: number; out: string }> {
  const child = withNetns(ns.path, () => Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code: await child.exited, out: out + err };
}

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

/** Exited: no process, or a zombie its new parent (init, after ours died) has not reaped yet. */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function exits(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && running(pid); i++) await Bun.sleep(25);
  return !running(pid);
}

describe.skipIf(!runnable)("slirp4netns", () => {
  test("the installed slirp4netns is probed once and has every feature ctrnet uses", () => {
    const features = probeSlirp4netns(SLIRP4NETNS!);
    expect(features).toEqual({
      disableHostLoopback: true,
      mtu: true,
      enableSandbox: true,
      enableSeccomp: true,
      cidr: true,
      outboundAddr: true,
      outboundAddr6: true,
      enableIPv6: true,
      netnsType: true,
      apiSocket: true,
    });
    expect(probeSlirp4netns(SLIRP4NETNS!)).toBe(features);
  });

  test("configures the tap with cidr + 100 and a default route via cidr + 2", async () => {
    await withSlirp({ exitFd: true, options: options("cidr=10.42.7.0/24") }, async (ns, slirp) => {
      expect(slirp).toMatchObject({ tap: "tap0", ip: "10.42.7.100", prefixLength: 24, gateway: "10.42.7.2", dns: "10.42.7.3" });
      const tap = ipJson(ns, "addr", "show", "tap0")[0];
      expect(tap.mtu).toBe(65520);
      expect(tap.addr_info.filter((a: any) => a.family === "inet")).toMatchObject([{ local: "10.42.7.100", prefixlen: 24 }]);
      expect(ipJson(ns, "route", "show", "default")).toMatchObject([{ dst: "default", gateway: "10.42.7.2", dev: "tap0" }]);
      expect(slirp.log()).toContain("sent tapfd=");
    });
  });

  test("closing the exit descriptor stops it", async () => {
    await withSlirp({ exitFd: true }, async (_ns, slirp) => {
      expect(running(slirp.pid)).toBe(true);
      await slirp.stop();
      expect(running(slirp.pid)).toBe(false);
    });
  });

  test("it dies with its parent, even by SIGKILL", async () => {
    await withSlirp(null, async (ns) => {
      const child = Bun.spawn([process.execPath, join(FIXTURES, "child.ts"), "hold", ns.path], { stdout: "pipe", stderr: "inherit" });
      const reader = child.stdout.getReader();
      const first = await reader.read();
      reader.releaseLock();
      const pid = Number(new TextDecoder().decode(first.value).trim());
      try {
        expect(running(pid)).toBe(true);
        child.kill("SIGKILL");
        await child.exited;
        expect(await exits(pid)).toBe(true);
      } finally {
        child.kill("SIGKILL");
        await child.exited;
        if (running(pid)) process.kill(pid, "SIGKILL");
      }
    });
  });

  test("without an exit descriptor (the shared rootless netns) it is stopped by pid", async () => {
    await withSlirp({ exitFd: false }, async (ns, slirp) => {
      expect(ipJson(ns, "-4", "addr", "show", "tap0")[0].addr_info).toMatchObject([{ local: "10.0.2.100", prefixlen: 24 }]);
      await slirp.stop();
      expect(running(slirp.pid)).toBe(false);
    });
  });

  test("port_handler=slirp4netns: add_hostfwd publishes a port of the netns on the host", async () => {
    const apiSocket = join(dir, "api-fwd.sock");
    const www = join(dir, "www");
    mkdirSync(www);
    writeFileSync(join(www, "index.html"), "hello from the netns\n");
    await withSlirp({ exitFd: true, options: options("cidr=10.42.7.0/24", "port_handler=slirp4netns"), apiSocket }, async (ns, slirp) => {
      expect(slirp.apiSocket).toBe(apiSocket);
      const httpd = withNetns(ns.path, () => Bun.spawn(["busybox", "httpd", "-f", "-p", "80", "-h", www], { stdio: ["ignore", "ignore", "inherit"] }));
      try {
        const port = freePort();
        const id = await addHostFwd(apiSocket, { proto: "tcp", hostIP: "127.0.0.1", hostPort: port, guestPort: 80 });
        expect(await listHostFwd(apiSocket)).toEqual([
          { id, proto: "tcp", hostIP: "127.0.0.1", hostPort: port, guestIP: "10.42.7.100", guestPort: 80 },
        ]);
        let body = "";
        for (let i = 0; i < 100 && body === ""; i++) {
          body = await fetch(`http://127.0.0.1:${port}/`).then((r) => (r.ok ? r.text() : ""), () => "");
          if (body === "") await Bun.sleep(20);
        }
        expect(body).toBe("hello from the netns\n");
        await removeHostFwd(apiSocket, id);
        expect(await listHostFwd(apiSocket)).toEqual([]);
      } finally {
        httpd.kill();
        await httpd.exited;
      }
    });
    expect(existsSync(apiSocket)).toBe(false);
  });

  test("add_hostfwd of a port in use is an error naming the port", async () => {
    const apiSocket = join(dir, "api-busy.sock");
    const taken = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      await withSlirp({ exitFd: true, options: options("port_handler=slirp4netns"), apiSocket }, async () => {
        await expect(addHostFwd(apiSocket, { proto: "tcp", hostIP: "127.0.0.1", hostPort: taken.port, guestPort: 80 })).rejects.toThrow(
          `error from slirp4netns while setting up port redirection 127.0.0.1:${taken.port}/tcp -> 80: bad request: add_hostfwd: slirp_add_hostfwd failed`,
        );
      });
    } finally {
      taken.stop(true);
    }
  });

  test("an API socket path that exists already is refused before anything starts", async () => {
    const apiSocket = join(dir, "api-exists.sock");
    writeFileSync(apiSocket, "");
    try {
      await withSlirp(null, async (ns) => {
        await expect(startSlirp4netns({ netnsPath: ns.path, exitFd: true, apiSocket })).rejects.toThrow(
          `slirp4netns API socket ${apiSocket} already exists; is another slirp4netns using it?`,
        );
      });
    } finally {
      rmSync(apiSocket);
    }
  });

  describe("host loopback", () => {
    let server: ReturnType<typeof Bun.serve>;
    beforeAll(() => {
      server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("hello from the host\n") });
    });
    afterAll(() => {
      server.stop(true);
    });
    const get = (ns: Netns) => runIn(ns, ["curl", "-sS", "--max-time", "5", `http://10.42.7.2:${server.port}/`]);

    test("allow_host_loopback=true reaches the host's 127.0.0.1 through the gateway", async () => {
      await withSlirp({ exitFd: true, options: options("cidr=10.42.7.0/24", "allow_host_loopback=true") }, async (ns) => {
        expect(await get(ns)).toEqual({ code: 0, out: "hello from the host\n" });
      });
    });

    test("by default it does not", async () => {
      await withSlirp({ exitFd: true, options: options("cidr=10.42.7.0/24") }, async (ns) => {
        const { code, out } = await get(ns);
        expect(code).toBe(7); // curl: could not connect
        expect(out).toContain("Failed to connect to 10.42.7.2");
      });
    });
  });

  test("the sandbox's unmounts stay out of a mount namespace whose root is shared", async () => {
    await withSlirp(null, async (ns) => {
      const child = Bun.spawn(
        ["unshare", "--mount", "--propagation", "shared", "--", process.execPath, join(FIXTURES, "child.ts"), "mounts", ns.path],
        { stdout: "pipe", stderr: "inherit" },
      );
      const out = await new Response(child.stdout).text();
      expect(await child.exited).toBe(0);
      const { before, after } = JSON.parse(out);
      expect(after).toBe(before);
    });
  });

  describe("start failures show slirp4netns's log and leave nothing running", () => {
    test("it exits before ready", async () => {
      const missing = join(dir, "no-such-netns");
      await expect(startSlirp4netns({ netnsPath: missing, exitFd: true })).rejects.toThrow(
        `${SLIRP4NETNS} failed: exit status 1: "existing path expected when --netns-type=path: No such file or directory\\n`,
      );
    });

    test("it is killed before ready", async () => {
      const binary = join(FIXTURES, "dies-before-ready");
      await withSlirp(null, async (ns) => {
        await expect(startSlirp4netns({ binary, netnsPath: ns.path, exitFd: true })).rejects.toThrow(
          `${binary} killed by signal SIGKILL: "fake slirp4netns: set up nothing, about to be killed\\n"`,
        );
      });
    });

    test("it does not report ready in time", async () => {
      const binary = join(FIXTURES, "never-ready");
      await withSlirp(null, async (ns) => {
        // the 300 ms start once the fake has printed its line (it then execs sleep), however long a busy
        // machine took to get it there: the line is in the message whatever the load
        const printed = (pid: number) => {
          for (const end = Date.now() + 20_000; Date.now() < end; Bun.sleepSync(5)) if (readFileSync(`/proc/${pid}/comm`, "utf8") === "sleep\n") return;
        };
        await expect(startSlirp4netns({ binary, netnsPath: ns.path, exitFd: false, timeoutMs: 300, onSpawn: printed })).rejects.toThrow(
          `${binary} did not report ready within 300 ms and was stopped: "fake slirp4netns: waiting for nothing\\n"`,
        );
      });
    });
  });

  test("outbound_addr may name an interface of this namespace", () => {
    expect(options("outbound_addr=lo").outboundAddr).toBe("lo");
    expect(() => options("outbound_addr=ctrnet-none0")).toThrow('invalid outbound_addr "ctrnet-none0"');
  });
});
