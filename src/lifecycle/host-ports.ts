// Host ports across containers: a port another container already publishes is refused, and a mapping
// without a host port gets a free one. Runs inside the state transaction that inserts the record, so two
// concurrent creates can neither both take one port nor both be handed the same free one.
import { readFileSync } from "../../ffi/fs.ts";
import * as libc from "../../ffi/libc.ts";
import { isSysError } from "../../ffi/errno.ts";
import { errorMessage, UsageError } from "../errors.ts";
import { ipFamily, parseIP } from "../ip/codec.ts";
import type { PortMapping, Protocol } from "../schema/ports.ts";

export interface PublishedPorts {
  id: string;
  ports: readonly PortMapping[];
}

/** The same overlap rule as schema/ports.ts: "" and "::" take every address. */
function overlaps(a: string, b: string): boolean {
  return a === b || a === "" || b === "" || a === "::" || b === "::";
}

function clash(m: { hostIP: string; protocol: Protocol }, port: number, taken: readonly PublishedPorts[]): string | undefined {
  for (const other of taken) {
    for (const t of other.ports) {
      if (t.protocol !== m.protocol || t.hostPort === 0 || !overlaps(t.hostIP, m.hostIP)) continue;
      if (port >= t.hostPort && port < t.hostPort + t.range) return other.id;
    }
  }
  return undefined;
}

function display(ip: string, port: number): string {
  if (ip === "") return `0.0.0.0:${port}`;
  return ipFamily(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** sockaddr_in / sockaddr_in6 for bind(2): family in host order, port in network order. */
function sockaddr(ip: string, port: number): Uint8Array {
  const bytes = parseIP(ip === "" ? "0.0.0.0" : ip)!;
  const v4 = bytes.length === 4;
  const out = new Uint8Array(v4 ? 16 : 28);
  const view = new DataView(out.buffer);
  view.setUint16(0, v4 ? libc.AF_INET : libc.AF_INET6, true);
  view.setUint16(2, port, false);
  out.set(bytes, v4 ? 4 : 8);
  return out;
}

/**
 * A socket bound to the host port as a listener would be: TCP with SO_REUSEADDR, as Go's and podman's
 * listeners have it, so only another listener (not a connection in TIME_WAIT) is in the way. The caller
 * closes it, or keeps it to hold the port. SCTP is not probed (the module may not even be loaded): the
 * record check alone guards it.
 */
function bindHostPort(ip: string, port: number, protocol: Protocol): number | undefined {
  if (protocol === "sctp") return undefined;
  const addr = sockaddr(ip, port);
  const family = addr.length === 16 ? libc.AF_INET : libc.AF_INET6;
  const fd = libc.socket(family, protocol === "tcp" ? libc.SOCK_STREAM : libc.SOCK_DGRAM, 0);
  try {
    if (protocol === "tcp") libc.setsockoptInt(fd, libc.SOL_SOCKET, libc.SO_REUSEADDR, 1);
    // ctrnet's own binds share a port (a check beside the supervisor's hold of it, a hold the supervisor
    // is just letting go of); any other program's bind without SO_REUSEPORT, or another user's, fails.
    libc.setsockoptInt(fd, libc.SOL_SOCKET, libc.SO_REUSEPORT, 1);
    libc.bind(fd, addr);
    return fd;
  } catch (err) {
    libc.close(fd);
    throw err;
  }
}

/** Whether this process could bind the port now. */
function bindable(ip: string, port: number, protocol: Protocol): boolean {
  try {
    const fd = bindHostPort(ip, port, protocol);
    if (fd !== undefined) libc.close(fd);
    return true;
  } catch {
    return false;
  }
}

/** podman's words for a host port something else holds (`listen tcp4 0.0.0.0:8080: bind: address already in use`). */
function portError(m: PortMapping, port: number, err: unknown): UsageError {
  const code = isSysError(err) ? err.code : "";
  const why = code === "EADDRINUSE" ? "address already in use" : code === "EADDRNOTAVAIL" ? "cannot assign requested address" : errorMessage(err);
  const family = m.hostIP !== "" && ipFamily(m.hostIP) === 6 ? "6" : "4";
  return new UsageError(`cannot listen on the ${m.protocol.toUpperCase()} port: listen ${m.protocol}${family} ${display(m.hostIP, port)}: bind: ${why}`);
}

/**
 * Every chosen host port is free on the host now, or a UsageError names the first that is not: a
 * server or another runtime's container (podman's conmon holds its ports) already listens there, and a
 * port published over it could not work.
 */
export function checkHostPortsFree(mappings: readonly PortMapping[]): void {
  for (const m of mappings) {
    for (let p = m.hostPort; p < m.hostPort + m.range; p++) {
      try {
        const fd = bindHostPort(m.hostIP, p, m.protocol);
        if (fd !== undefined) libc.close(fd);
      } catch (err) {
        throw portError(m, p, err);
      }
    }
  }
}

/**
 * Listens on every host port the container publishes and keeps them until the returned function closes
 * them, as podman's conmon does: while a container whose ports are DNATed lives, nothing else can take
 * them. The DNAT happens before a socket is looked up, so no connection ever reaches these sockets.
 */
export function holdHostPorts(mappings: readonly PortMapping[]): () => void {
  return releaseOf(bindHostPorts(mappings));
}

/** What closes the sockets holding ports (bindHostPorts' or inherited ones), once. */
export function releaseOf(fds: readonly number[]): () => void {
  const held = [...fds];
  return () => {
    for (const fd of held.splice(0)) libc.close(fd);
  };
}

/** holdHostPorts' sockets themselves, for a process to hand over to another (the supervisor it starts). */
export function bindHostPorts(mappings: readonly PortMapping[]): number[] {
  const held: number[] = [];
  try {
    for (const m of mappings) {
      for (let p = m.hostPort; p < m.hostPort + m.range; p++) {
        let fd: number | undefined;
        try {
          fd = bindHostPort(m.hostIP, p, m.protocol);
        } catch (err) {
          throw portError(m, p, err);
        }
        if (fd === undefined) continue;
        held.push(fd);
        if (m.protocol === "tcp") libc.listen(fd, 1);
      }
    }
  } catch (err) {
    for (const fd of held) libc.close(fd);
    throw err;
  }
  return held;
}

function localPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (low && high && low <= high) return [low, high];
  } catch {
    // not readable: the kernel's default range
  }
  return [32768, 60999];
}

const FREE_PORT_TRIES = 200;

function pickFree(m: PortMapping, takenNear: (candidate: PortMapping) => readonly PublishedPorts[]): number {
  const [low, high] = localPortRange();
  const span = high - low + 1 - (m.range - 1);
  for (let i = 0; i < FREE_PORT_TRIES && span > 0; i++) {
    const start = low + Math.floor(Math.random() * span);
    const taken = takenNear({ ...m, hostPort: start });
    let free = true;
    for (let p = start; p < start + m.range && free; p++) {
      free = clash(m, p, taken) === undefined && bindable(m.hostIP, p, m.protocol);
    }
    if (free) return start;
  }
  throw new UsageError(`no free host port range of ${m.range} for container port ${m.containerPort}/${m.protocol} in ${low}-${high}`);
}

/**
 * The mappings with every host port chosen. Refuses one another container publishes; a port chosen for
 * one mapping is taken for the next too, so two mappings of this container are not given the same free
 * port. publishedNear: the other containers' ports that may overlap the given mappings (all of them will
 * do; the state's index finds the few that can), asked only about ranges whose host port is known.
 */
export function assignHostPorts(mappings: readonly PortMapping[], publishedNear: (near: readonly PortMapping[]) => readonly PublishedPorts[]): PortMapping[] {
  const mine: PortMapping[] = mappings.filter((m) => m.hostPort !== 0);
  const others = mine.length ? publishedNear(mine) : [];
  for (const m of mine) {
    for (let p = m.hostPort; p < m.hostPort + m.range; p++) {
      const owner = clash(m, p, others);
      if (owner !== undefined) throw new UsageError(`host port ${display(m.hostIP, p)}/${m.protocol} is already published by container "${owner}": address already in use`);
    }
  }
  return mappings.map((m) => {
    if (m.hostPort !== 0) return m;
    const chosen = { ...m, hostPort: pickFree(m, (candidate) => [...publishedNear([candidate]), { id: "", ports: mine }]) };
    mine.push(chosen);
    return chosen;
  });
}
