// Hosts made of network namespaces for the firewall and bridge-driver tests, and a server that answers
// each connection (or datagram) with the address of its peer: where DNAT kept a client's address and
// where masquerade replaced it. Everything made is removed by cleanUp(), which a file's afterEach calls.
import { expect } from "bun:test";
import { rmSync } from "node:fs";
import type { Subprocess } from "bun";
import * as libc from "../../ffi/libc.ts";
import { formatIP, parseIP } from "../../src/ip/codec.ts";
import { Netlink } from "../../src/netlink/index.ts";

export interface Ns {
  name: string;
  fd: number;
  nl: Netlink;
}

let counter = 0;
const made: Ns[] = [];
const servers: Subprocess[] = [];
const dirs: string[] = [];

export function sh(cmd: string[], stdin?: string): { ok: boolean; out: string } {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe", stdin: stdin === undefined ? "ignore" : Buffer.from(stdin) });
  return { ok: r.exitCode === 0, out: r.stdout.toString().trim() || r.stderr.toString().trim() };
}

/** A fresh netns with loopback up and a Netlink socket in it. */
export function netns(tag: string): Ns {
  const name = `pn-${process.pid}-${++counter}-${tag}`;
  expect(sh(["ip", "netns", "add", name]).ok).toBe(true);
  const fd = libc.open(`/run/netns/${name}`, libc.O_RDONLY);
  const nl = Netlink.open({ netns: fd });
  nl.linkSet("lo", { up: true });
  const ns = { name, fd, nl };
  made.push(ns);
  return ns;
}

/** Removes a netns made by netns() before cleanUp would: its last reference goes (unless a process holds it). */
export function dropNetns(ns: Ns): void {
  made.splice(made.indexOf(ns), 1);
  ns.nl.close();
  libc.close(ns.fd);
  expect(sh(["ip", "netns", "del", ns.name]).ok).toBe(true);
}

/** A directory removed by cleanUp. */
export function scratchDir(dir: string): string {
  dirs.push(dir);
  return dir;
}

export async function cleanUp(): Promise<void> {
  for (const s of servers.splice(0)) {
    s.kill("SIGKILL");
    await s.exited;
  }
  for (const ns of made.splice(0)) {
    ns.nl.close();
    libc.close(ns.fd);
    sh(["ip", "netns", "del", ns.name]);
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * A server in the netns that answers with its peer's address, over TCP or UDP, v4 and v6. Over UDP the
 * shell reads the datagram's line before it answers: one that answered and exited before socat had handed
 * it the datagram made socat fail on the write (EPIPE) and drop the answer (on a busy machine: 11 of 32
 * asks on loopback unanswered, 0 of 25 with the read).
 */
export async function peerEcho(ns: Ns, protocol: "tcp" | "udp", port: number): Promise<void> {
  const [listen, answer] =
    protocol === "tcp"
      ? [`TCP6-LISTEN:${port},fork,reuseaddr,ipv6only=0`, "SYSTEM:echo $SOCAT_PEERADDR"]
      : [`UDP6-RECVFROM:${port},fork,ipv6only=0`, "SYSTEM:read -r _; echo $SOCAT_PEERADDR"];
  const server = Bun.spawn(["ip", "netns", "exec", ns.name, "socat", listen, answer], { stdout: "ignore", stderr: "ignore" });
  servers.push(server);
  const flag = protocol === "tcp" ? "-Hltn" : "-Hlun";
  for (let i = 0; i < 100; i++) {
    if (sh(["ip", "netns", "exec", ns.name, "ss", flag, `sport = :${port}`]).out.includes(`:${port}`)) return;
    await Bun.sleep(20);
  }
  throw new Error(`server on ${port} did not start`);
}

/** socat prints IPv6 peers in full and IPv4 ones as v4-mapped IPv6 on a dual-stack socket. */
function canonical(address: string): string {
  const bytes = parseIP(address.replace(/^\[(.*)\]$/, "$1"));
  if (bytes === null) return address;
  const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return formatIP(mapped ? bytes.subarray(12) : bytes);
}

/** The peer address the server reported, or null when nothing answered. */
export function ask(from: Ns, protocol: "tcp" | "udp", host: string, port: number): string | null {
  const target = host.includes(":") ? `[${host}]` : host;
  const r =
    protocol === "tcp"
      ? sh(["ip", "netns", "exec", from.name, "curl", "-s", "--max-time", "3", `telnet://${target}:${port}`], "")
      : // The server forks a shell per datagram, which on a loaded machine takes longer than socat's default
        // half-second wait for the answer after stdin's EOF (-t): wait up to 3 s.
        sh(["ip", "netns", "exec", from.name, "socat", "-t", "3", "-T", "3", "-", `UDP:${target}:${port}`], "hi\n");
  if (!r.ok || r.out === "") return null;
  return canonical(r.out);
}
