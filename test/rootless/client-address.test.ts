// Issue 17, item 2, as the unprivileged test user: ctrnet's forwarder (the default port handler) keeps the
// client's address. A remote client (a netns of the test's, on a veth, made as root) connects to published
// ports, TCP and UDP, IPv4 and IPv6; the server in the container answers with the peer address it sees. A
// client on the host's loopback appears as the gateway of a slirp4netns container's netns (10.0.2.2), as
// pasta's --map-gw shows it, and behind a rootless bridge as the bridge's gateway (podman's rootlessport). Both places the forwarder connects from: a slirp4netns
// container's own netns, and the rootless netns behind which a bridge network's containers are.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { ctrnetAsUser, rootlessUser, spawnCtrnetAsUser, stopPause, userProcesses } from "../helpers/rootless.ts";
import { freePorts } from "../helpers/http.ts";
import { formatIP, parseIP } from "../../src/ip/codec.ts";

const runnable = process.getuid?.() === 0 && ["slirp4netns", "socat", "ip", "iptables"].every((p) => Bun.which(p) !== null);
const ASYNC_TEST_TIMEOUT_MS = 60_000;
const REMOTE_NETNS = "ctrnet-test-remote";
const HOST_IF = "ctrnet-rh";
const HOST4 = "192.0.2.1";
const REMOTE4 = "192.0.2.2";
const HOST6 = "2001:db8:17::1";
const REMOTE6 = "2001:db8:17::2";
const GATEWAY4 = "10.0.2.2";
const NET = "rbaddr";

function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
}

/**
 * Servers answering each TCP connection and each UDP datagram with the peer address they saw, on both
 * families (socat's SOCAT_PEERADDR: an IPv6 address in brackets). They speak first: a TCP client need
 * not send anything.
 */
function serversOn(port: number): string[] {
  return [
    "sh",
    "-c",
    [
      `trap 'kill $pids; exit 0' TERM;`,
      `socat TCP4-LISTEN:${port},fork,reuseaddr 'SYSTEM:echo $SOCAT_PEERADDR' & pids="$pids $!";`,
      `socat TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=1 'SYSTEM:echo $SOCAT_PEERADDR' 2>/dev/null & pids="$pids $!";`,
      `socat UDP4-RECVFROM:${port},fork 'SYSTEM:echo $SOCAT_PEERADDR' & pids="$pids $!";`,
      `socat UDP6-RECVFROM:${port},fork,ipv6only=1 'SYSTEM:echo $SOCAT_PEERADDR' 2>/dev/null & pids="$pids $!";`,
      "wait",
    ].join(" "),
  ];
}
const SERVERS = serversOn(80);

type Where = "remote" | "loopback";

/**
 * What the server saw of one client; "" while nothing answers (the container is still starting). A silent
 * client (tcp) sends nothing and keeps its side open, as a client of a server that speaks first (SMTP, SSH) does.
 */
async function askOnce(where: Where, protocol: "tcp" | "udp", host: string, port: number, silent = false): Promise<string> {
  const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  const address = protocol === "tcp" ? `TCP:${target},connect-timeout=2` : `UDP:${target}`;
  const argv = silent ? ["socat", "-T", "2", "-u", address, "-"] : ["socat", "-t", "2", "-T", "2", "-", address];
  const child = Bun.spawn(where === "remote" ? ["ip", "netns", "exec", REMOTE_NETNS, ...argv] : argv, {
    stdin: new Blob(["who\n"]),
    stdout: "pipe",
    stderr: "ignore",
  });
  const out = await new Response(child.stdout).text();
  await child.exited;
  const seen = out.trim().replace(/^\[(.*)\]$/, "$1");
  // socat writes IPv6 addresses in full
  const parsed = parseIP(seen);
  return parsed === null ? seen : formatIP(parsed);
}

/** Until the server answers; a bound for a broken run, not a timing assertion. */
async function peerSeen(where: Where, protocol: "tcp" | "udp", host: string, port: number, run: Run, silent = false): Promise<string> {
  for (const end = Date.now() + 20_000; ; await Bun.sleep(100)) {
    const seen = await askOnce(where, protocol, host, port, silent);
    if (seen !== "") return seen;
    if (run.proc.exitCode !== null || Date.now() > end) {
      const why = run.proc.exitCode === null ? "" : `; ctrnet run exited ${run.proc.exitCode}: ${await run.stderr}`;
      throw new Error(`no answer over ${protocol} from ${host}:${port}${why}`);
    }
  }
}

interface Run {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stderr: Promise<string>;
}

function runServers(args: string[], servers = SERVERS): Run {
  const proc = spawnCtrnetAsUser(["run", ...args, "--", ...servers]);
  return { proc, stderr: new Response(proc.stderr).text() };
}

/** The servers' shell ends at SIGTERM, stopping them first (0), as does the run. */
async function stop(run: Run): Promise<void> {
  run.proc.kill("SIGTERM");
  const code = await run.proc.exited;
  if (code !== 0) throw new Error(`ctrnet run exited ${code}: ${await run.stderr}`);
}

describe.skipIf(!runnable)("the forwarder keeps the client's address", () => {
  beforeAll(async () => {
    rootlessUser();
    await stopPause();
    sh(["ip", "netns", "add", REMOTE_NETNS]);
    sh(["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", "eth0", "netns", REMOTE_NETNS]);
    sh(["ip", "addr", "add", `${HOST4}/24`, "dev", HOST_IF]);
    sh(["ip", "addr", "add", `${HOST6}/64`, "dev", HOST_IF, "nodad"]);
    sh(["ip", "link", "set", HOST_IF, "up"]);
    const inRemote = (args: string[]) => sh(["ip", "netns", "exec", REMOTE_NETNS, "ip", ...args]);
    inRemote(["addr", "add", `${REMOTE4}/24`, "dev", "eth0"]);
    inRemote(["addr", "add", `${REMOTE6}/64`, "dev", "eth0", "nodad"]);
    inRemote(["link", "set", "eth0", "up"]);
    inRemote(["link", "set", "lo", "up"]);
    // pasta copies the addresses and routes of the host's interface with a default route
    sh(["ip", "route", "add", "default", "via", REMOTE4, "dev", HOST_IF]);
    sh(["ip", "-6", "route", "add", "default", "via", REMOTE6, "dev", HOST_IF]);
  });

  afterAll(async () => {
    Bun.spawnSync(["ip", "link", "del", HOST_IF]);
    Bun.spawnSync(["ip", "netns", "del", REMOTE_NETNS]);
    await stopPause();
    expect(userProcesses()).toEqual([]);
  });

  test(
    "slirp4netns: a remote client is itself over tcp and udp, a loopback client is 10.0.2.2",
    async () => {
      const port = freePorts(1);
      const run = runServers(["-p", `${port}:80`, "-p", `${port}:80/udp`]);
      try {
        expect(await peerSeen("remote", "tcp", HOST4, port, run)).toBe(REMOTE4);
        expect(await peerSeen("remote", "tcp", HOST4, port, run, true)).toBe(REMOTE4);
        expect(await peerSeen("remote", "udp", HOST4, port, run)).toBe(REMOTE4);
        expect(await peerSeen("loopback", "tcp", "127.0.0.1", port, run)).toBe(GATEWAY4);
        expect(await peerSeen("loopback", "udp", "127.0.0.1", port, run)).toBe(GATEWAY4);
      } finally {
        await stop(run);
      }
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "slirp4netns, tcp ports only: kept by the sockets' marks, no nf_tables table (so no conntrack) in the container's netns",
    async () => {
      const port = freePorts(1);
      const created = ctrnetAsUser(["create", "-p", `${port}:80`, "marksonly"]);
      expect(created.stderr).toBe("");
      const netns = (JSON.parse(ctrnetAsUser(["inspect", "marksonly"]).stdout) as { NetworkSettings: { SandboxKey: string } }[])[0]!
        .NetworkSettings.SandboxKey.split("/").at(-1)!;
      const proc = spawnCtrnetAsUser(["netns", "exec", netns, "--", ...SERVERS]);
      const run: Run = { proc, stderr: new Response(proc.stderr).text() };
      try {
        // before the servers listen, the forwarder's connections are refused: the kernel's reset comes back too
        expect(await peerSeen("remote", "tcp", HOST4, port, run)).toBe(REMOTE4);
        expect(await peerSeen("loopback", "tcp", "127.0.0.1", port, run)).toBe(GATEWAY4);
        const inside = ctrnetAsUser(["netns", "exec", netns, "--", "sh", "-c", "nft list tables && cat /proc/sys/net/ipv4/tcp_fwmark_accept"]);
        expect(inside.stdout.trim()).toBe("1");
      } finally {
        await stop(run);
        ctrnetAsUser(["rm", "-f", "marksonly"]);
      }
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "slirp4netns with enable_ipv6: a remote IPv6 client is itself too, over tcp and udp, a loopback one fd00::2",
    async () => {
      const port = freePorts(2);
      const port6 = port + 1;
      const run = runServers(["--network", "slirp4netns:enable_ipv6=true", "-p", `${port}:80`, "-p", `[::]:${port6}:80`, "-p", `[::]:${port6}:80/udp`]);
      try {
        expect(await peerSeen("remote", "tcp", HOST4, port, run)).toBe(REMOTE4);
        for (const protocol of ["tcp", "udp"] as const) {
          expect(await peerSeen("remote", protocol, HOST6, port6, run)).toBe(REMOTE6);
          // slirp4netns's host address, as 10.0.2.2 is for IPv4 (its advertisement's router is link-local)
          expect(await peerSeen("loopback", protocol, "::1", port6, run)).toBe("fd00::2");
        }
      } finally {
        await stop(run);
      }
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "slirp4netns with enable_ipv6, created: after kill -9 of slirp4netns (a new tap, a new fd00:: address) an IPv6 client is still itself",
    async () => {
      const port6 = freePorts(1);
      const created = ctrnetAsUser(["create", "--network", "slirp4netns:enable_ipv6=true", "-p", `[::]:${port6}:80`, "healing6"]);
      expect(created.stderr).toBe("");
      const inspect = () =>
        (JSON.parse(ctrnetAsUser(["inspect", "healing6"]).stdout) as {
          NetworkSettings: { SandboxKey: string };
          Helpers: Record<string, { Pid: number; Running: boolean; Restarts: number }>;
        }[])[0]!;
      const netns = inspect().NetworkSettings.SandboxKey.split("/").at(-1)!;
      const proc = spawnCtrnetAsUser(["netns", "exec", netns, "--", ...SERVERS]);
      const run: Run = { proc, stderr: new Response(proc.stderr).text() };
      try {
        expect(await peerSeen("remote", "tcp", HOST6, port6, run)).toBe(REMOTE6);
        const dead = inspect().Helpers.slirp4netns!.Pid;
        process.kill(dead, "SIGKILL");
        for (const end = Date.now() + 20_000; ; await Bun.sleep(50)) {
          const h = inspect().Helpers;
          if (h.slirp4netns?.Pid !== dead && h.slirp4netns?.Running && h.portForwarder?.Running) break;
          if (Date.now() > end) throw new Error(`slirp4netns was not restarted: ${JSON.stringify(h)}`);
        }
        expect(await peerSeen("remote", "tcp", HOST6, port6, run)).toBe(REMOTE6);
      } finally {
        await stop(run);
        ctrnetAsUser(["rm", "-f", "healing6"]);
      }
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test.skipIf(Bun.which("pasta") === null)(
    "pasta: a remote client is itself over tcp and udp, IPv4 and IPv6; a loopback client is 127.0.0.1 (pasta's splice path)",
    async () => {
      // Host port = container port: Debian 12's pasta (2023-03) loses the replies to a loopback UDP client
      // when the host port is above the container port (README, pasta mode).
      const port = freePorts(1);
      // hostIP "": pasta binds the port on IPv4 and IPv6
      const run = runServers(["--network", "pasta", "-p", `${port}:${port}`, "-p", `${port}:${port}/udp`], serversOn(port));
      try {
        for (const protocol of ["tcp", "udp"] as const) {
          expect(await peerSeen("remote", protocol, HOST4, port, run)).toBe(REMOTE4);
          expect(await peerSeen("remote", protocol, HOST6, port, run)).toBe(REMOTE6);
          expect(await peerSeen("loopback", protocol, "127.0.0.1", port, run)).toBe("127.0.0.1");
        }
        // a silent client of a server that speaks first: through pasta's splice path only (README)
        expect(await peerSeen("loopback", "tcp", "127.0.0.1", port, run, true)).toBe("127.0.0.1");
      } finally {
        await stop(run);
      }
    },
    ASYNC_TEST_TIMEOUT_MS,
  );

  test(
    "a rootless bridge network: remote IPv4 and IPv6 clients are themselves; a loopback client is the bridge's gateway, as with podman's rootlessport (bats: network create, from 172.x)",
    async () => {
      const created = ctrnetAsUser(["network", "create", "--subnet", "10.77.17.0/24", "--subnet", "fd77:17::/64", NET]);
      expect(created.stderr).toBe("");
      const port = freePorts(2);
      const port6 = port + 1;
      const run = runServers(["--network", NET, "-p", `${port}:80`, "-p", `${port}:80/udp`, "-p", `[::]:${port6}:80`, "-p", `[::]:${port6}:80/udp`]);
      try {
        for (const protocol of ["tcp", "udp"] as const) {
          expect(await peerSeen("remote", protocol, HOST4, port, run)).toBe(REMOTE4);
          expect(await peerSeen("remote", protocol, HOST6, port6, run)).toBe(REMOTE6);
          expect(await peerSeen("loopback", protocol, "127.0.0.1", port, run)).toBe("10.77.17.1");
        }
      } finally {
        await stop(run);
        ctrnetAsUser(["network", "rm", NET]);
      }
    },
    ASYNC_TEST_TIMEOUT_MS,
  );
});
