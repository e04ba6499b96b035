// pasta as the unprivileged test user, as podman 5's rootless default: CTRNET_ROOTLESS_NETWORK_CMD=pasta
// makes it the network of a container given none; the host's addresses inside (IPv4 and IPv6), published
// tcp and udp ports through pasta's own -t/-u (IPv4 and IPv6), options, bad options, a port in use, and
// create/rm leaving nothing of the user's but the pause process, which gc then stops too. The rootless
// bridge through pasta is in rootless-bridge.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePorts, httpdUntil, untilServed } from "../helpers/http.ts";
import { ctrnetAsUser, pausePid, rootlessUser, spawnCtrnetAsUser, stopPause, userProcesses, userSite, waitGone } from "../helpers/rootless.ts";
import { addUplink, UPLINK } from "../helpers/uplink.ts";

const runnable = process.getuid?.() === 0 && ["pasta", "socat", "curl", "busybox"].every((p) => Bun.which(p) !== null);
const ASYNC_TEST_TIMEOUT_MS = 60_000;
const PASTA_DEFAULT = { CTRNET_ROOTLESS_NETWORK_CMD: "pasta" };

describe.skipIf(!runnable)("pasta as a rootless user", () => {
  let tmp: string;
  let www: string;
  /** The user's own: a command that runs can write here. */
  let scratch: string;
  let removeUplink: () => void;

  beforeAll(async () => {
    rootlessUser();
    await stopPause();
    removeUplink = addUplink();
    ({ dir: tmp, www, scratch } = userSite("ctrnet-rootless-pasta-", "served rootless by pasta\n"));
  });

  beforeEach(() => {
    expect(userProcesses().filter((p) => !p.args.endsWith(" _pause"))).toEqual([]);
  });

  afterAll(async () => {
    await stopPause();
    removeUplink();
    rmSync(tmp, { recursive: true, force: true });
    expect(userProcesses()).toEqual([]);
  });

  let flags = 0;
  function flag(): { path: string; raise: () => void } {
    const path = join(tmp, `flag-${flags++}`);
    return { path, raise: () => writeFileSync(path, "") };
  }

  /** The user's processes other than the pause process: none once a command has finished. */
  const others = () => userProcesses().filter((p) => p.args !== `${rootlessUser().binary} _pause`);

  test("CTRNET_ROOTLESS_NETWORK_CMD=pasta: a container given no network gets pasta, the host's addresses v4 and v6", () => {
    const r = ctrnetAsUser(["run", "--", "sh", "-c", "ip -o addr show; cat /etc/resolv.conf"], { env: PASTA_DEFAULT });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`inet ${UPLINK.ipv4}/${UPLINK.prefix4} `);
    expect(r.stdout).toContain(`inet6 ${UPLINK.ipv6}/${UPLINK.prefix6} `);
    expect(r.stdout).toContain("nameserver 169.254.1.1\n");
  });

  test("without the switch the rootless default stays slirp4netns", () => {
    const r = ctrnetAsUser(["run", "--", "ip", "-4", "-o", "addr", "show", "tap0"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("inet 10.0.2.100/24");
  });

  test("a bad CTRNET_ROOTLESS_NETWORK_CMD: exit 2, nothing run", () => {
    const marker = join(scratch, `ran-${flags++}`);
    const r = ctrnetAsUser(["run", "--", "touch", marker], { env: { CTRNET_ROOTLESS_NETWORK_CMD: "vde" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('ctrnet: error: invalid CTRNET_ROOTLESS_NETWORK_CMD "vde": expected slirp4netns or pasta\n');
    expect(existsSync(marker)).toBe(false);
  });

  test("--ip or --network-alias in a rootless user's default mode: podman's specgen words", () => {
    for (const flags of [["--ip", "10.0.0.5"], ["--network-alias", "a"]]) {
      const r = ctrnetAsUser(["create", ...flags, "rootless-static"], { env: PASTA_DEFAULT });
      expect(r.stderr).toBe("ctrnet: error: networks and static ip/mac address can only be used with Bridge mode networking\n");
      expect(r.code).toBe(2);
    }
    expect(others()).toEqual([]);
  });

  test("options pass through: -I, -a, -n, -g", () => {
    const r = ctrnetAsUser(["run", "--network", "pasta:-I,eth9,-a,10.9.8.7,-n,24,-g,10.9.8.1", "--", "sh", "-c", "ip -4 -o addr show eth9; ip route"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("inet 10.9.8.7/24");
    expect(r.stdout).toContain("default via 10.9.8.1 dev eth9");
  });

  test("-6: no IPv4 inside, so resolv.conf leaves out pasta's IPv4 DNS forwarder, as podman; -4 keeps it", () => {
    const v6 = ctrnetAsUser(["run", "--network", "pasta:-6", "--", "sh", "-c", "ip -4 -o addr show scope global; cat /etc/resolv.conf"]);
    expect(v6.stderr).toBe("");
    expect(v6.code).toBe(0);
    expect(v6.stdout).not.toContain("inet ");
    expect(v6.stdout).not.toContain("169.254.1.1");
    const v4 = ctrnetAsUser(["run", "--network", "pasta:-4", "--", "grep", "nameserver", "/etc/resolv.conf"]);
    expect(v4.code).toBe(0);
    expect(v4.stdout).toStartWith("nameserver 169.254.1.1\n");
  });

  test("CTRNET_PASTA_OPTIONS (podman's pasta_options) come first; the container's own pasta: options after them win", () => {
    const env = { ...PASTA_DEFAULT, CTRNET_PASTA_OPTIONS: "-I,myname,--ns-mac-addr,9a:dd:31:ea:92:98" };
    const r = ctrnetAsUser(["run", "--", "ip", "link", "show", "myname"], { env });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("link/ether 9a:dd:31:ea:92:98 ");
    const cli = ctrnetAsUser(["run", "--network", "pasta:--ns-mac-addr,aa:bb:cc:dd:ee:ff", "--", "ip", "link", "show", "myname"], { env });
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain("link/ether aa:bb:cc:dd:ee:ff ");
  });

  for (const [what, hostIP, url] of [
    ["IPv4", "127.0.0.1", "127.0.0.1"],
    ["IPv6", "[::1]", "[::1]"],
  ] as const) {
    test(
      `tcp, ${what}: busybox httpd serves a file on the published port and a 2-port range`,
      async () => {
        const base = freePorts(3);
        const done = flag();
        const run = spawnCtrnetAsUser(["run", "--network", "pasta", "-p", `${hostIP}:${base}:80`, "-p", `${hostIP}:${base + 1}-${base + 2}:8081-8082`, "--", ...httpdUntil([80, 8081, 8082], done.path, www)]);
        try {
          for (let i = 0; i < 3; i++) expect(await untilServed(base + i, run, url)).toBe("served rootless by pasta\n");
        } finally {
          done.raise();
        }
        expect(await run.exited).toBe(0);
        expect(await new Response(run.stderr).text()).toBe("");
        expect(others()).toEqual([]);
      },
      ASYNC_TEST_TIMEOUT_MS,
    );
  }

  test(
    "udp: a datagram to the published port reaches the server inside",
    async () => {
      const port = freePorts(1);
      const got = join(scratch, `udp-${flags++}`);
      const run = spawnCtrnetAsUser(["run", "--network", "pasta", "-p", `127.0.0.1:${port}:5353/udp`, "--", "socat", "-u", "UDP4-RECV:5353", `OPEN:${got},creat`]);
      try {
        for (const end = Date.now() + 20_000; !(existsSync(got) && readFileSync(got, "utf8").includes("ping")); await Bun.sleep(100)) {
          if (Date.now() > end || run.exitCode !== null) throw new Error("no datagram arrived");
          Bun.spawnSync(["socat", "-u", "-", `UDP4-SENDTO:127.0.0.1:${port}`], { stdin: Buffer.from("ping\n") });
        }
      } finally {
        run.kill("SIGTERM");
      }
      await run.exited;
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "a port in use is refused before anything is made",
    async () => {
      const port = freePorts(1);
      const taken = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
      const marker = join(scratch, `ran-${flags++}`);
      try {
        const r = ctrnetAsUser(["run", "--network", "pasta", "-p", `127.0.0.1:${port}:80`, "--", "touch", marker]);
        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`listen tcp4 127.0.0.1:${port}: bind: address already in use`);
      } finally {
        taken.stop(true);
      }
      expect(existsSync(marker)).toBe(false);
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test.each([
    ["--foo", "pasta: unrecognized option '--foo'"],
    ["-I", "pasta: option requires an argument -- 'I'"],
    ["--userns,/proc/1/ns/user", "pasta option --userns cannot be given: ctrnet sets it"],
    ["-a,notanip", "pasta failed with exit code 1: Invalid address: notanip"],
  ])("bad option %s: exit 2 with getopt's or pasta's words", (option, message) => {
    const r = ctrnetAsUser(["run", "--network", `pasta:${option}`, "--", "true"]);
    expect(r.stderr).toBe(`ctrnet: error: ${message}\n`);
    expect(r.code).toBe(2);
    expect(others()).toEqual([]);
  });

  test(
    "--pid FILE is the user's (505-networking-pasta.bats): pasta writes its pid there, and quits with the container",
    async () => {
      const pidFile = join(scratch, `pasta-${flags++}.pid`);
      const r = ctrnetAsUser(["run", "--rm", "--network", `pasta:--pid,${pidFile}`, "--", "true"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const pid = Number(readFileSync(pidFile, "utf8"));
      expect(pid).toBeGreaterThan(1);
      expect(await waitGone(pid)).toBe(true);

      const created = ctrnetAsUser(["create", "--network", `pasta:-P,${pidFile}`, "rootless-pasta-pid"]);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const running = Number(readFileSync(pidFile, "utf8"));
      expect(others().find((p) => p.pid === running)?.args).toStartWith("/usr/bin/pasta ");
      expect(ctrnetAsUser(["rm", "rootless-pasta-pid"]).code).toBe(0);
      expect(await waitGone(running)).toBe(true);
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    '-p "" publishes nothing (a string slice, as podman\'s): pasta\'s own interface-bound --tcp-ports forwards instead',
    async () => {
      const port = freePorts(1);
      const done = flag();
      const run = spawnCtrnetAsUser(["run", "-p", "", "--network", `pasta:--tcp-ports,${UPLINK.ipv4}%${UPLINK.name}/${port}:8081`, "--", ...httpdUntil([8081], done.path, www)]);
      try {
        expect(await untilServed(port, run, UPLINK.ipv4)).toBe("served rootless by pasta\n");
      } finally {
        done.raise();
      }
      expect(await run.exited).toBe(0);
      expect(await new Response(run.stderr).text()).toBe("");
      expect(others()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "create serves until rm; rm stops pasta; afterwards only the pause process is left, and gc stops it",
    async () => {
      const port = freePorts(1);
      const created = ctrnetAsUser(["create", "-p", `127.0.0.1:${port}:80`, "rootless-pasta"], { env: PASTA_DEFAULT });
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const helpers = others();
      expect(helpers.filter((p) => p.args.startsWith("/usr/bin/pasta "))).toHaveLength(1);
      expect(helpers.some((p) => p.args.endsWith("_rootlessport"))).toBe(false);
      const [inspect] = JSON.parse(ctrnetAsUser(["inspect", "rootless-pasta"]).stdout);
      expect(inspect.NetworkMode).toBe("pasta");
      expect(inspect.NetworkSettings).toMatchObject({ IPAddress: UPLINK.ipv4, Gateway: UPLINK.gateway4, GlobalIPv6Address: UPLINK.ipv6 });

      const done = flag();
      const server = spawnCtrnetAsUser(["netns", "exec", created.stdout.trim().split("/").pop()!, "--", ...httpdUntil([80], done.path, www)]);
      try {
        expect(await untilServed(port, server)).toBe("served rootless by pasta\n");
      } finally {
        done.raise();
        await server.exited;
      }
      const rm = ctrnetAsUser(["rm", "rootless-pasta"]);
      expect(rm.stderr).toBe("");
      expect(rm.code).toBe(0);
      for (const p of helpers) expect(await waitGone(p.pid)).toBe(true);

      const pause = pausePid()!;
      expect(userProcesses().map((p) => p.pid)).toEqual([pause]);
      const gc = ctrnetAsUser(["gc"]);
      expect(gc.code).toBe(0);
      expect(await waitGone(pause)).toBe(true);
      expect(userProcesses()).toEqual([]);
    },
    ASYNC_TEST_TIMEOUT_MS,
  );
});
