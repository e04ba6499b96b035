// `--network slirp4netns` through the compiled binary, as root inside the runner's private net+mount
// namespace (by hand: CTRNET_TEST_PRIVATE=1 unshare --net --mount --propagation private -- sh -c 'mount -t
// tmpfs -o mode=0755 tmpfs /run && ip link set lo up && exec "$@"' sh bun test THIS_FILE): the tap and
// resolv.conf, published ports with both port handlers, the peer address servers see, host loopback,
// bad options, a port in use, and that no helper process outlives its container however it ends.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { BINARY } from "../helpers/binary.ts";
import { hex, privileged } from "./cni-helpers.ts";
import { curl, freePorts, httpdUntil, untilServed } from "../helpers/http.ts";
import { alive, commandPids, hostNameservers, untilGone, userModeSandbox } from "./user-mode-helpers.ts";

const ASYNC_TEST_TIMEOUT_MS = 60_000;
const HANDLERS = ["rootlesskit", "slirp4netns"] as const;
const runnable = privileged && Bun.which("slirp4netns") !== null && Bun.which("socat") !== null && Bun.which("curl") !== null;

describe.skipIf(!runnable)("--network slirp4netns", () => {
  const box = userModeSandbox("slirp", "slirp4netns");
  const { id, dirs, env, cli, start, flag, records, helperProcesses, expectNothingLeft } = box;

  beforeAll(() => box.setUp());
  afterAll(() => box.tearDown());

  test("tap0 gets cidr + 100 and resolv.conf names cidr + 3", () => {
    const r = cli(["run", "--network", "slirp4netns:cidr=10.42.7.0/24", "--", "sh", "-c", "ip -j addr; echo ===; cat /etc/resolv.conf"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [addrJson, resolv] = r.stdout.split("===\n");
    const tap = (JSON.parse(addrJson!) as { ifname: string; addr_info: { family: string; local: string; prefixlen: number }[] }[]).find((l) => l.ifname === "tap0");
    expect(tap?.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["10.42.7.100/24"]);
    // slirp4netns's forwarder first, then the host's reachable IPv4 servers (no IPv6 here), as podman's
    // addSpecialDNS with KeepHostServers
    expect(resolv!.match(/^nameserver .*/gm)).toEqual(["nameserver 10.42.7.3", ...hostNameservers().filter((ns) => !ns.includes(":")).map((ns) => `nameserver ${ns}`)]);
    expectNothingLeft();
  });

  for (const handler of HANDLERS) {
    test(
      `port_handler=${handler}: a published port serves the container's httpd`,
      async () => {
        const port = freePorts(1);
        const done = flag();
        const run = start(["run", "--network", `slirp4netns:port_handler=${handler}`, "-p", `127.0.0.1:${port}:80`, "--", ...httpdUntil([80], done.path, dirs.www)]);
        try {
          expect(await untilServed(port, run)).toBe(`served from slirp ${id}\n`);
        } finally {
          done.raise();
        }
        expect(await run.exited).toBe(0);
        expect(await new Response(run.stderr).text()).toBe("");
        expect((await curl(port)).ok).toBe(false);
        expectNothingLeft();
      },
      ASYNC_TEST_TIMEOUT_MS,
    );

    test(
      `port_handler=${handler}: a 3-port range`,
      async () => {
        const base = freePorts(3);
        const done = flag();
        const run = start(["run", "--network", `slirp4netns:port_handler=${handler}`, "-p", `127.0.0.1:${base}-${base + 2}:8080-8082`, "--", ...httpdUntil([8080, 8081, 8082], done.path, dirs.www)]);
        try {
          for (let i = 0; i < 3; i++) expect(await untilServed(base + i, run)).toBe(`served from slirp ${id}\n`);
        } finally {
          done.raise();
        }
        expect(await run.exited).toBe(0);
        expectNothingLeft();
      },
      ASYNC_TEST_TIMEOUT_MS,
    );

    test(
      `port_handler=${handler}: a port in use is refused before anything is made, leaving nothing`,
      async () => {
        const port = freePorts(1);
        const taken = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
        const marker = join(dirs.flags, `ran-${hex(4)}`);
        try {
          const run = start(["run", "--network", `slirp4netns:port_handler=${handler}`, "-p", `127.0.0.1:${port}:80`, "--", "touch", marker]);
          const stderr = await new Response(run.stderr).text();
          expect(await run.exited).toBe(2);
          expect(stderr).toContain(`listen tcp4 127.0.0.1:${port}: bind: address already in use`);
          expect(stderr.trim().split("\n")).toHaveLength(1);
        } finally {
          taken.stop(true);
        }
        expect(existsSync(marker)).toBe(false);
        expectNothingLeft();
      },
      ASYNC_TEST_TIMEOUT_MS,
    );
  }

  test(
    "a server inside sees the forwarded client's address, not 127.0.0.1",
    async () => {
      const port = freePorts(1);
      const run = start(["run", "--network", "slirp4netns", "-p", `127.0.0.1:${port}:80`, "--", "socat", "TCP-LISTEN:80", "SYSTEM:echo $SOCAT_PEERADDR"]);
      let peer = "";
      const deadline = Date.now() + 20_000;
      while (peer === "" && run.exitCode === null && Date.now() < deadline) {
        // until socat listens inside, the forwarder's connection is refused and the client sees an empty reply
        const client = Bun.spawn(["socat", "-u", `TCP:127.0.0.1:${port}`, "-"], { stdout: "pipe", stderr: "ignore" });
        peer = (await new Response(client.stdout).text()).trim();
        await client.exited;
        if (peer === "") await Bun.sleep(50);
      }
      expect(await run.exited).toBe(0);
      expect(peer).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(peer).not.toBe("127.0.0.1");
      expect(peer).toBe("10.0.2.2"); // the forwarder keeps client addresses: one on the host's loopback is the gateway
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "allow_host_loopback=true reaches the host's 127.0.0.1 through 10.0.2.2; without it, nothing does",
    async () => {
      const port = freePorts(1);
      const server = Bun.listen({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.end("hello from the host\n");
          },
          data() {},
        },
      });
      const fetchHost = async (network: string) => {
        const run = start(["run", "--network", network, "--", "socat", "-u", `TCP:10.0.2.2:${port},connect-timeout=3`, "-"]);
        const [out, code] = [await new Response(run.stdout).text(), await run.exited];
        return { out, code };
      };
      try {
        expect(await fetchHost("slirp4netns:allow_host_loopback=true")).toEqual({ out: "hello from the host\n", code: 0 });
        const denied = await fetchHost("slirp4netns");
        expect(denied.out).toBe("");
        expect(denied.code).not.toBe(0);
        expect((await fetchHost("slirp4netns:allow_host_loopback=false")).code).not.toBe(0);
      } finally {
        server.stop(true);
      }
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test.each([
    ["foo=bar", 'unknown option for slirp4netns: "foo=bar"'],
    ["cidr", 'unknown option for slirp4netns: "cidr"'],
    ["port_handler=socat", 'unknown port_handler for slirp4netns: "socat"'],
    ["allow_host_loopback=yes", 'invalid value of allow_host_loopback for slirp4netns: "yes"'],
    ["enable_ipv6=1", 'invalid value of enable_ipv6 for slirp4netns: "1"'],
    ["cidr=10.42.7.1", 'invalid cidr "10.42.7.1"'],
    ["cidr=fd00::/64", 'invalid cidr "fd00::/64"'],
    ["outbound_addr=no-such-if0", 'invalid outbound_addr "no-such-if0"'],
    ["outbound_addr6=10.0.0.1", 'invalid outbound_addr6: "10.0.0.1"'],
    ["outbound_addr6=::1", "enable_ipv6=true is required for outbound_addr6"],
    ["mtu=10", 'invalid mtu "10"'],
  ])("bad option %s: exit 2 with the seed's message, nothing run or left", (option, message) => {
    const marker = join(dirs.flags, `ran-${hex(4)}`);
    const r = cli(["run", "--network", `slirp4netns:${option}`, "--", "touch", marker]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(existsSync(marker)).toBe(false);
    expectNothingLeft();
  });

  test("sctp cannot be published with slirp4netns", () => {
    const r = cli(["create", "--network", "slirp4netns", "-p", "127.0.0.1:9999:80/sctp", `c-${hex(3)}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("80/sctp");
    expectNothingLeft();
  });

  for (const handler of HANDLERS) {
    test(
      `create (port_handler=${handler}) serves until rm; rm leaves no helper`,
      async () => {
        const name = `c-${hex(3)}`;
        const port = freePorts(1);
        const created = cli(["create", "--network", `slirp4netns:port_handler=${handler},cidr=10.42.8.0/24`, "-p", `127.0.0.1:${port}:80`, name]);
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        const netns = created.stdout.trim();
        const [rec] = records();
        const helpers = [rec!.helpers.slirp4netns, rec!.helpers.portForwarder].filter((p): p is number => p !== null);
        expect(helpers).toHaveLength(handler === "rootlesskit" ? 2 : 1);
        expect(helpers.every(alive)).toBe(true);
        // and the supervisor that restarts them
        expect(helperProcesses()).toHaveLength(helpers.length + 1);

        const [inspect] = JSON.parse(cli(["inspect", name]).stdout);
        expect(inspect.NetworkMode).toBe(`slirp4netns:port_handler=${handler},cidr=10.42.8.0/24`);
        expect(inspect.NetworkSettings).toMatchObject({
          IPAddress: "10.42.8.100",
          IPPrefixLen: 24,
          Gateway: "10.42.8.2",
          SandboxKey: netns,
          Ports: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] },
        });

        // a server started in the container's netns after create is reached through the helpers
        const done = flag();
        const server = Bun.spawn([BINARY, "netns", "exec", basename(netns), "--", ...httpdUntil([80], done.path, dirs.www)], { env: { ...process.env, ...env } });
        try {
          expect(await untilServed(port, server)).toBe(`served from slirp ${id}\n`);
        } finally {
          done.raise();
          await server.exited;
        }
        const rm = cli(["rm", name]);
        expect(rm.stderr).toBe("");
        expect(rm.code).toBe(0);
        for (const pid of helpers) expect(alive(pid)).toBe(false);
        expectNothingLeft();
      },
      ASYNC_TEST_TIMEOUT_MS,
    );
  }

  for (const victim of ["slirp4netns", "portForwarder"] as const) {
    test(
      `create, then ${victim} killed with SIGKILL: the supervisor starts it again, gc keeps the container, rm leaves nothing`,
      async () => {
        const name = `c-${hex(3)}`;
        const port = freePorts(1);
        const created = cli(["create", "--network", "slirp4netns", "-p", `127.0.0.1:${port}:80`, name]);
        expect(created.code).toBe(0);
        const { helpers } = records()[0]!;
        const killed = helpers[victim]!;
        const other = helpers[victim === "slirp4netns" ? "portForwarder" : "slirp4netns"]!;
        process.kill(killed, "SIGKILL");
        expect(await untilGone(killed)).toBe(true);
        // the record names the new one as soon as it exists, inspect counts it once it is ready
        const helper = () => JSON.parse(cli(["inspect", name]).stdout)[0].Helpers[victim] as { Pid: number; Running: boolean; Restarts: number };
        for (const end = Date.now() + 20_000; !(helper().Restarts === 1 && helper().Running) && Date.now() < end; ) await Bun.sleep(20);
        const restarted = helper();
        expect(restarted).toMatchObject({ Running: true, Restarts: 1 });
        expect(restarted.Pid).not.toBe(killed);
        expect(records()[0]!.helpers[victim]).toBe(restarted.Pid);
        expect(alive(other)).toBe(true);
        const gc = cli(["gc"]);
        expect(gc.stderr).toBe("");
        expect(gc.code).toBe(0);
        expect(gc.stdout).not.toContain(`removed container ${name}`);
        // the port answers through the new helper
        const done = flag();
        const server = Bun.spawn([BINARY, "netns", "exec", basename(created.stdout.trim()), "--", ...httpdUntil([80], done.path, dirs.www)], { env: { ...process.env, ...env } });
        try {
          expect(await untilServed(port, server)).toBe(`served from slirp ${id}\n`);
        } finally {
          done.raise();
          await server.exited;
        }
        const rm = cli(["rm", name]);
        expect(rm.stderr).toBe("");
        expect(rm.code).toBe(0);
        expectNothingLeft();
      },
      ASYNC_TEST_TIMEOUT_MS,
    );
  }

  test("rm -f of a container whose helpers are already gone", async () => {
    const name = `c-${hex(3)}`;
    expect(cli(["create", "--network", "slirp4netns", "-p", `127.0.0.1:${freePorts(1)}:80`, name]).code).toBe(0);
    const { helpers } = records()[0]!;
    for (const pid of [helpers.slirp4netns!, helpers.portForwarder!]) process.kill(pid, "SIGKILL");
    for (const pid of [helpers.slirp4netns!, helpers.portForwarder!]) expect(await untilGone(pid)).toBe(true);
    const rm = cli(["rm", "-f", name]);
    expect(rm.stderr).toBe("");
    expect(rm.code).toBe(0);
    expectNothingLeft();
  });

  test(
    "SIGKILL of ctrnet run: its helpers and its command die with it, and gc removes the record",
    async () => {
      const port = freePorts(1);
      // the server is run's own command (no shell in between), so the kernel's parent-death signal reaches it
      const httpd = ["busybox", "httpd", "-f", "-p", "80", "-h", dirs.www];
      const run = start(["run", "--network", "slirp4netns", "-p", `127.0.0.1:${port}:80`, "--", ...httpd]);
      let server: number[];
      let helpers: ReturnType<typeof records>[number]["helpers"];
      try {
        await untilServed(port, run);
        helpers = records()[0]!.helpers;
        server = commandPids(httpd);
        expect(server).toHaveLength(1);
      } finally {
        run.kill("SIGKILL");
        await run.exited;
      }
      for (const pid of [helpers.slirp4netns!, helpers.portForwarder!, server[0]!]) expect(await untilGone(pid)).toBe(true);
      expect(helperProcesses()).toEqual([]);
      const gc = cli(["gc"]);
      expect(gc.code).toBe(0);
      expect(gc.stdout).toContain("removed container");
      expectNothingLeft();
    },
    ASYNC_TEST_TIMEOUT_MS,
  );
});
