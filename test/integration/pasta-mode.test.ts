// `--network pasta[:OPTIONS]` through the compiled binary, as root inside the runner's private net+mount
// namespace, with an uplink (test/helpers/uplink.ts) for pasta to copy: the host's addresses and routes
// inside (IPv4 and IPv6, the IPv6 one usable at once), resolv.conf naming pasta's DNS forwarder, options
// passed through as podman 5 passes them, tcp and udp ports (IPv4 and IPv6) through pasta's own -t/-u,
// create/inspect/rm, bad options (exit 2, podman's or pasta's words, nothing left), and that pasta never
// outlives its container.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { BINARY } from "../helpers/binary.ts";
import { freePorts, httpdUntil, untilServed } from "../helpers/http.ts";
import { addUplink, UPLINK } from "../helpers/uplink.ts";
import { hex, privileged } from "./cni-helpers.ts";
import { alive, hostNameservers, untilGone, userModeSandbox } from "./user-mode-helpers.ts";

const ASYNC_TEST_TIMEOUT_MS = 60_000;
const runnable = privileged && ["pasta", "socat", "curl", "busybox"].every((p) => Bun.which(p) !== null);
/** A newer pasta than Debian 12's maps 169.254.1.2 to the host, which host.containers.internal then names. */
const mapsGuestAddr = () => {
  const help = Bun.spawnSync(["pasta", "--help"], { stdout: "pipe", stderr: "pipe" });
  return `${help.stdout}${help.stderr}`.includes("--map-guest-addr");
};

describe.skipIf(!runnable)("--network pasta", () => {
  const box = userModeSandbox("pasta", "pasta");
  const { dirs, cli, start, flag, records, helperProcesses, expectNothingLeft, page } = box;
  let removeUplink: () => void;

  beforeAll(() => {
    box.setUp();
    removeUplink = addUplink();
  });
  afterAll(() => {
    removeUplink();
    box.tearDown();
  });

  /** `ip -j addr` inside: each interface's global addresses, and the default routes. */
  function inside(network: string): { addrs: Record<string, string[]>; routes: string; resolv: string; hosts: string; code: number | null; stderr: string } {
    const r = cli(["run", "--network", network, "--", "sh", "-c", "ip -j addr; echo ===; ip route; ip -6 route; echo ===; cat /etc/resolv.conf; echo ===; cat /etc/hosts"]);
    const [json = "[]", routes = "", resolv = "", hosts = ""] = r.stdout.split("===\n");
    const links = JSON.parse(json) as { ifname: string; addr_info: { local: string; prefixlen: number; scope: string; tentative?: boolean }[] }[];
    const addrs = Object.fromEntries(
      links.map((l) => [l.ifname, l.addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}${a.tentative ? " tentative" : ""}`)]),
    );
    return { addrs, routes, resolv, hosts, code: r.code, stderr: r.stderr };
  }

  test("the host's addresses and routes, IPv4 and IPv6 (usable at once), and pasta's DNS forwarder in resolv.conf", () => {
    const r = inside("pasta");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.addrs[UPLINK.name]).toEqual([`${UPLINK.ipv4}/${UPLINK.prefix4}`, `${UPLINK.ipv6}/${UPLINK.prefix6}`]);
    expect(r.routes).toContain(`default via ${UPLINK.gateway4} dev ${UPLINK.name}`);
    expect(r.routes).toContain(`default via ${UPLINK.gateway6} dev ${UPLINK.name}`);
    // pasta's forwarder first, then the host's reachable servers, as podman (addSpecialDNS, KeepHostServers)
    expect(r.resolv.match(/^nameserver .*/gm)).toEqual(["nameserver 169.254.1.1", ...hostNameservers().map((ns) => `nameserver ${ns}`)]);
    // podman's rule without --map-guest-addr (this pasta has none): a host address the container has not
    // got itself; the uplink's are its own now, and the host has no other
    if (mapsGuestAddr()) expect(r.hosts).toContain("169.254.1.2\thost.containers.internal host.docker.internal\n");
    else expect(r.hosts).not.toContain("host.containers.internal");
    expectNothingLeft();
  });

  test("host.containers.internal: a host address pasta did not copy into the container", () => {
    const extra = "198.51.100.9";
    Bun.spawnSync(["ip", "addr", "add", `${extra}/24`, "dev", UPLINK.peer]);
    try {
      const r = inside("pasta");
      expect(r.code).toBe(0);
      expect(r.hosts).toContain(`${mapsGuestAddr() ? "169.254.1.2" : extra}\thost.containers.internal host.docker.internal\n`);
    } finally {
      Bun.spawnSync(["ip", "addr", "del", `${extra}/24`, "dev", UPLINK.peer]);
    }
    expectNothingLeft();
  });

  test("options pass through: -I, -a, -n, -g, --ipv4-only, --dns-forward", () => {
    const r = inside("pasta:-I,eth9,-a,10.9.8.7,-n,24,-g,10.9.8.1,--ipv4-only,--dns-forward,10.9.8.53");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.addrs.eth9).toEqual(["10.9.8.7/24"]);
    expect(r.addrs[UPLINK.name]).toBeUndefined();
    expect(r.routes).toContain("default via 10.9.8.1 dev eth9");
    expect(r.routes).not.toContain("default via 2001:db8");
    expect(r.resolv.match(/^nameserver .*/gm)).toEqual(["nameserver 10.9.8.53", ...hostNameservers().filter((ns) => !ns.includes(":")).map((ns) => `nameserver ${ns}`)]);
    expectNothingLeft();
  });

  test(
    "-T passes through: the container reaches a port on the host's loopback at its own 127.0.0.1",
    async () => {
      const port = freePorts(1);
      const server = Bun.listen({ hostname: "127.0.0.1", port, socket: { open: (s) => void s.end("hello from the host\n"), data() {} } });
      try {
        const run = start(["run", "--network", `pasta:-T,${port}`, "--", "socat", "-u", `TCP:127.0.0.1:${port},connect-timeout=3`, "-"]);
        expect(await new Response(run.stdout).text()).toBe("hello from the host\n");
        expect(await run.exited).toBe(0);
      } finally {
        server.stop(true);
      }
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  for (const [what, hostIP, url] of [
    ["IPv4", "127.0.0.1", (p: number) => `http://127.0.0.1:${p}/`],
    ["IPv6", "[::1]", (p: number) => `http://[::1]:${p}/`],
  ] as const) {
    test(
      `tcp, ${what}: a published port and a 2-port range serve the container's httpd through pasta's -t`,
      async () => {
        const base = freePorts(3);
        const done = flag();
        const run = start(["run", "--network", "pasta", "-p", `${hostIP}:${base}:80`, "-p", `${hostIP}:${base + 1}-${base + 2}:8081-8082`, "--", ...httpdUntil([80, 8081, 8082], done.path, dirs.www)]);
        const get = (i: number) => Bun.spawnSync(["curl", "-s", "-g", "-m", "2", url(base + i)], { stdout: "pipe" }).stdout.toString();
        try {
          // until httpd listens inside; a bound for a broken run, not a timing assertion
          for (const end = Date.now() + 20_000; get(0) !== page; await Bun.sleep(50)) {
            if (Date.now() > end || run.exitCode !== null) throw new Error(`nothing served on ${url(base)}`);
          }
          for (let i = 0; i < 3; i++) expect(get(i)).toBe(page);
        } finally {
          done.raise();
        }
        expect(await run.exited).toBe(0);
        expect(await new Response(run.stderr).text()).toBe("");
        expect(get(0)).toBe("");
        expectNothingLeft();
      },
      ASYNC_TEST_TIMEOUT_MS,
    );
  }

  test(
    "udp: a datagram to the published port reaches the server inside through pasta's -u",
    async () => {
      const port = freePorts(1);
      const got = join(dirs.flags, `udp-${hex(4)}`);
      const run = start(["run", "--network", "pasta", "-p", `127.0.0.1:${port}:5353/udp`, "--", "socat", "-u", "UDP4-RECV:5353", `OPEN:${got},creat`]);
      try {
        for (const end = Date.now() + 20_000; !(existsSync(got) && readFileSync(got, "utf8").includes("ping")); await Bun.sleep(100)) {
          if (Date.now() > end || run.exitCode !== null) throw new Error("no datagram arrived");
          Bun.spawnSync(["socat", "-u", "-", `UDP4-SENDTO:127.0.0.1:${port}`], { stdin: Buffer.from("ping\n") });
        }
      } finally {
        run.kill("SIGTERM");
      }
      await run.exited;
      expect(readFileSync(got, "utf8")).toStartWith("ping\n");
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test.each([
    ["--foo", "pasta: unrecognized option '--foo'"],
    ["-z", "pasta: invalid option -- 'z'"],
    ["-I", "pasta: option requires an argument -- 'I'"],
    ["--netns,/run/netns/x", "pasta option --netns cannot be given: ctrnet sets it"],
    ["-a,notanip", "pasta failed with exit code 1: Invalid address: notanip"],
    ["-T,80x", "pasta failed with exit code 1: Invalid port specifier 80x"],
    ["--ipv4-only,--ipv6-only", "pasta failed with exit code 1: Options ipv4-only and ipv6-only are mutually exclusive"],
  ])("bad option %s: exit 2 with getopt's or pasta's words, nothing run or left", (option, message) => {
    const marker = join(dirs.flags, `ran-${hex(4)}`);
    const r = cli(["run", "--network", `pasta:${option}`, "--", "touch", marker]);
    expect(r.stderr).toBe(`ctrnet: error: ${message}\n`);
    expect(r.code).toBe(2);
    expect(existsSync(marker)).toBe(false);
    expectNothingLeft();
  });

  test("sctp: podman's words, nothing made", () => {
    const r = cli(["create", "--network", "pasta", "-p", "127.0.0.1:9999:80/sctp", `c-${hex(3)}`]);
    expect(r.stderr).toBe("ctrnet: error: can't forward protocol: sctp\n");
    expect(r.code).toBe(2);
    expectNothingLeft();
  });

  test(
    "a port in use is refused before anything is made",
    async () => {
      const port = freePorts(1);
      const taken = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      try {
        const r = cli(["run", "--network", "pasta", "-p", `127.0.0.1:${port}:80`, "--", "true"]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`listen tcp4 127.0.0.1:${port}: bind: address already in use`);
      } finally {
        taken.stop(true);
      }
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "create: inspect shows pasta's addresses; the port serves until rm, which stops pasta and leaves nothing",
    async () => {
      const name = `c-${hex(3)}`;
      const port = freePorts(1);
      const created = cli(["create", "--network", "pasta:--map-gw", "-p", `127.0.0.1:${port}:80`, name]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const netns = created.stdout.trim();
      const [rec] = records();
      const pasta = rec!.helpers.pasta!;
      expect(alive(pasta)).toBe(true);
      expect(rec!.helpers.slirp4netns).toBeNull();
      expect(rec!.helpers.portForwarder).toBeNull();
      // pasta, and the supervisor that restarts it
      expect(helperProcesses()).toHaveLength(2);
      // podman's --map-gw is no pasta option: it only leaves out --no-map-gw
      const argv = readFileSync(`/proc/${pasta}/cmdline`, "utf8").split("\0");
      expect(argv).not.toContain("--map-gw");
      expect(argv).not.toContain("--no-map-gw");

      const [inspect] = JSON.parse(cli(["inspect", name]).stdout);
      expect(inspect.NetworkMode).toBe("pasta:--map-gw");
      expect(inspect.NetworkSettings).toMatchObject({
        IPAddress: UPLINK.ipv4,
        IPPrefixLen: UPLINK.prefix4,
        Gateway: UPLINK.gateway4,
        GlobalIPv6Address: UPLINK.ipv6,
        GlobalIPv6PrefixLen: UPLINK.prefix6,
        IPv6Gateway: UPLINK.gateway6,
        SandboxKey: netns,
        Ports: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
      });

      const done = flag();
      const server = Bun.spawn([BINARY, "netns", "exec", basename(netns), "--", ...httpdUntil([80], done.path, dirs.www)], { env: { ...process.env, ...box.env } });
      try {
        expect(await untilServed(port, server)).toBe(page);
      } finally {
        done.raise();
        await server.exited;
      }
      const rm = cli(["rm", name]);
      expect(rm.stderr).toBe("");
      expect(rm.code).toBe(0);
      expect(alive(pasta)).toBe(false);
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "--pid: a process's netns gets pasta's addresses; rm stops pasta and leaves the process",
    async () => {
      const holder = Bun.spawn(["unshare", "--net", "--", "sleep", "60"], { stdio: ["ignore", "ignore", "ignore"] });
      const name = `c-${hex(3)}`;
      try {
        for (const end = Date.now() + 10_000; readFileSync(`/proc/${holder.pid}/cmdline`, "utf8").startsWith("unshare"); await Bun.sleep(10)) {
          if (Date.now() > end) throw new Error("unshare did not exec sleep");
        }
        const created = cli(["create", "--network", "pasta", "--pid", String(holder.pid), name]);
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        const pasta = records()[0]!.helpers.pasta!;
        const addrs = Bun.spawnSync(["nsenter", `--net=/proc/${holder.pid}/ns/net`, "ip", "-4", "-o", "addr", "show", UPLINK.name], { stdout: "pipe" });
        expect(addrs.stdout.toString()).toContain(`inet ${UPLINK.ipv4}/${UPLINK.prefix4}`);
        const rm = cli(["rm", name]);
        expect(rm.stderr).toBe("");
        expect(rm.code).toBe(0);
        expect(alive(pasta)).toBe(false);
        expect(alive(holder.pid)).toBe(true);
      } finally {
        holder.kill("SIGKILL");
        await holder.exited;
      }
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "create, then pasta killed with SIGKILL: the supervisor starts it again with the same options and port, gc keeps the container, rm leaves nothing",
    async () => {
      const name = `c-${hex(3)}`;
      const port = freePorts(1);
      const created = cli(["create", "--network", "pasta:-I,eth9", "-p", `127.0.0.1:${port}:80`, name]);
      expect(created.code).toBe(0);
      const killed = records()[0]!.helpers.pasta!;
      process.kill(killed, "SIGKILL");
      expect(await untilGone(killed)).toBe(true);
      const helper = () => JSON.parse(cli(["inspect", name]).stdout)[0].Helpers.pasta as { Pid: number; Running: boolean; Restarts: number };
      for (const end = Date.now() + 20_000; !(helper().Restarts === 1 && helper().Running) && Date.now() < end; ) await Bun.sleep(20);
      const restarted = helper();
      expect(restarted).toMatchObject({ Running: true, Restarts: 1 });
      expect(restarted.Pid).not.toBe(killed);
      expect(records()[0]!.helpers.pasta).toBe(restarted.Pid);
      const [inspect] = JSON.parse(cli(["inspect", name]).stdout);
      expect(inspect.NetworkSettings).toMatchObject({ IPAddress: UPLINK.ipv4, Gateway: UPLINK.gateway4 });
      const gc = cli(["gc"]);
      expect(gc.stderr).toBe("");
      expect(gc.code).toBe(0);
      expect(gc.stdout).not.toContain(`removed container ${name}`);
      // the port answers through the new pasta, into the interface it made again
      const done = flag();
      const server = Bun.spawn([BINARY, "netns", "exec", basename(created.stdout.trim()), "--", ...httpdUntil([80], done.path, dirs.www)], { env: { ...process.env, ...box.env } });
      try {
        expect(await untilServed(port, server)).toBe(page);
      } finally {
        done.raise();
        await server.exited;
      }
      const rm = cli(["rm", name]);
      expect(rm.stderr).toBe("");
      expect(rm.code).toBe(0);
      expect(alive(restarted.Pid)).toBe(false);
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "SIGKILL of ctrnet run: pasta dies with it, and gc removes the record",
    async () => {
      const port = freePorts(1);
      const run = start(["run", "--network", "pasta", "-p", `127.0.0.1:${port}:80`, "--", "busybox", "httpd", "-f", "-p", "80", "-h", dirs.www]);
      let pasta: number;
      try {
        await untilServed(port, run);
        pasta = records()[0]!.helpers.pasta!;
      } finally {
        run.kill("SIGKILL");
        await run.exited;
      }
      expect(await untilGone(pasta)).toBe(true);
      expect(helperProcesses()).toEqual([]);
      const gc = cli(["gc"]);
      expect(gc.code).toBe(0);
      expect(gc.stdout).toContain("removed container");
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );
});
