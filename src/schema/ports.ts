// Published ports: podman's and docker's `-p [HOSTIP:][HOSTPORT[-END]:]CTRPORT[-END][/PROTO[,PROTO]]`, the
// normalised mapping kept in state, and the per-port entries the CNI portmap plugin takes.
import * as v from "valibot";
import { CtrnetError, UsageError } from "../errors.ts";
import { formatIP, parseIP } from "../ip/codec.ts";
import { IPAddress } from "./ip.ts";

export const PROTOCOLS = ["tcp", "udp", "sctp"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

const MAX_PORT = 65535;

/**
 * One published port or range, as podman's PortMapping: `range` consecutive ports starting at
 * `containerPort` go to as many starting at `hostPort`. hostPort 0 means "any free port", chosen when the
 * container starts. hostIP "" means every host address (podman folds "0.0.0.0" into it as docker does).
 */
export const PortMapping = v.pipe(
  v.object({
    hostIP: v.union([v.literal(""), IPAddress]),
    hostPort: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_PORT)),
    containerPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PORT)),
    protocol: v.picklist(PROTOCOLS),
    range: v.pipe(v.number(), v.integer(), v.minValue(1)),
  }),
  v.check((m) => m.containerPort + m.range - 1 <= MAX_PORT, "the container port range ends past 65535"),
  v.check((m) => m.hostPort === 0 || m.hostPort + m.range - 1 <= MAX_PORT, "the host port range ends past 65535"),
);
export type PortMapping = v.InferOutput<typeof PortMapping>;

/** An entry of the CNI `portMappings` capability argument: always one port. */
export interface CniPortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  hostIP: string;
}

class SpecError extends Error {}

/** Parses one `-p` value; `tcp,udp` yields one mapping per protocol. */
export function parsePortSpec(spec: string): PortMapping[] {
  try {
    return parse(spec);
  } catch (err) {
    if (err instanceof SpecError) throw new UsageError(`invalid port spec "${spec}": ${err.message}`);
    throw err;
  }
}

/**
 * Parses every `-p` value of one container and rejects host ports published twice. defaultHostIPs (podman's
 * containers.conf `default_host_ips`): a value that names no host address is published on each of these
 * instead, as podman's runtime expands it; one that names one, 0.0.0.0 or :: too, keeps it.
 */
export function parsePortSpecs(specs: readonly string[], defaultHostIPs: readonly string[] = []): PortMapping[] {
  const mappings = specs.flatMap((spec) => {
    const parsed = parsePortSpec(spec);
    return defaultHostIPs.length && !namesHostIP(spec) ? withHostIPs(parsed, defaultHostIPs) : parsed;
  });
  checkPortConflicts(mappings);
  return mappings;
}

/** Whether a `-p` value gives a host address (`IP:HOST:CTR`, `IP::CTR`, `[IPV6]:…`), even 0.0.0.0. */
function namesHostIP(spec: string): boolean {
  const address = spec.split("/")[0]!;
  return address.startsWith("[") || address.split(":").length === 3;
}

/** Each mapping without a host address once per address given (podman's default_host_ips). */
export function withHostIPs(mappings: readonly PortMapping[], hostIPs: readonly string[]): PortMapping[] {
  return mappings.flatMap((m) => (m.hostIP === "" && hostIPs.length ? hostIPs.map((hostIP) => ({ ...m, hostIP })) : [m]));
}

/**
 * podman's containers.conf `default_host_ips`, from CTRNET_DEFAULT_HOST_IPS (comma-separated): the host
 * addresses a published port without one is bound to. 0.0.0.0 and :: are kept as "every address".
 */
export function defaultHostIPs(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return (env.CTRNET_DEFAULT_HOST_IPS ?? "")
    .split(",")
    .filter(Boolean)
    .map((text) => {
      const ip = parseIP(text.trim());
      if (ip === null) throw new UsageError(`invalid CTRNET_DEFAULT_HOST_IPS: "${text}" is not an IP address`);
      const canonical = formatIP(ip);
      return canonical === "0.0.0.0" ? "" : canonical;
    });
}

function parse(spec: string): PortMapping[] {
  const [address, protoText, ...extra] = spec.split("/");
  if (extra.length) throw new SpecError("the protocol can only be given once");
  const protocols = protoText === undefined ? (["tcp"] as Protocol[]) : parseProtocols(protoText);
  const { hostIP, hostPort, containerPort } = splitAddress(address!);

  const ctr = parseRange(containerPort, "container", 1);
  let host = { start: 0, length: ctr.length };
  if (hostPort !== undefined && hostPort !== "") {
    host = parseRange(hostPort, "host", 0);
    // A lone 0 asks for a free port, like an empty host port; a free range of the right length is chosen.
    if (host.start === 0 && host.length === 1) host.length = ctr.length;
    if (host.length !== ctr.length) {
      throw new SpecError(`host and container port ranges differ in length (${host.length} != ${ctr.length})`);
    }
  }
  const ip = hostIP === undefined ? "" : parseHostIP(hostIP);
  return protocols.map((protocol) => ({ hostIP: ip, hostPort: host.start, containerPort: ctr.start, protocol, range: ctr.length }));
}

function parseProtocols(text: string): Protocol[] {
  const out: Protocol[] = [];
  for (const part of text.split(",")) {
    const proto = part.toLowerCase();
    if (!(PROTOCOLS as readonly string[]).includes(proto)) {
      throw new SpecError(part === "" ? "empty protocol" : `unknown protocol "${part}" (expected tcp, udp or sctp)`);
    }
    if (!out.includes(proto as Protocol)) out.push(proto as Protocol);
  }
  return out;
}

interface SplitAddress {
  hostIP?: string;
  hostPort?: string;
  containerPort: string;
}

function splitAddress(text: string): SplitAddress {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw new SpecError("missing ] after the IPv6 host address");
    const rest = text.slice(close + 1);
    if (!rest.startsWith(":")) throw new SpecError("expected : after the bracketed host address");
    const ports = rest.slice(1).split(":");
    if (ports.length !== 2) throw new SpecError("a host address must be followed by HOSTPORT:CTRPORT (HOSTPORT may be empty)");
    return { hostIP: text.slice(1, close), hostPort: ports[0]!, containerPort: ports[1]! };
  }
  if (text.includes("]")) throw new SpecError("an IPv6 host address must be in brackets, e.g. [::1]:8080:80");
  const parts = text.split(":");
  switch (parts.length) {
    case 1:
      return { containerPort: parts[0]! };
    case 2:
      return { hostPort: parts[0]!, containerPort: parts[1]! };
    case 3:
      return { hostIP: parts[0]!, hostPort: parts[1]!, containerPort: parts[2]! };
    default:
      throw new SpecError("expected [HOSTIP:][HOSTPORT:]CTRPORT, with an IPv6 HOSTIP in brackets");
  }
}

function parseHostIP(text: string): string {
  if (text === "") throw new SpecError("empty host IP (leave out the IP and its colon to publish on every address)");
  const ip = parseIP(text);
  if (ip === null) throw new SpecError(`invalid host IP "${text}"`);
  if (ip.length === 4 && ip.every((b) => b === 0)) return "";
  return formatIP(ip);
}

const DECIMAL = /^[0-9]{1,5}$/;

function parseRange(text: string, side: "host" | "container", min: number): { start: number; length: number } {
  if (text === "") throw new SpecError(`missing ${side} port`);
  const bounds = text.split("-");
  if (bounds.length > 2 || !bounds.every((b) => DECIMAL.test(b))) throw new SpecError(`invalid ${side} port "${text}"`);
  const [start, end = start] = bounds.map(Number) as [number, number?];
  for (const port of [start, end]) {
    if (port < min || port > MAX_PORT) throw new SpecError(`${side} port ${port} is out of range (${min}-${MAX_PORT})`);
  }
  if (end < start) throw new SpecError(`${side} port range ${text} ends before it starts`);
  if (start === 0 && end !== 0) throw new SpecError(`host port range ${text} includes port 0`);
  return { start, length: end - start + 1 };
}

/**
 * Every address the wildcard binds overlaps every other: "" (all addresses) and "::", which on Linux also
 * takes IPv4 unless net.ipv6.bindv6only is set.
 */
function addressesOverlap(a: string, b: string): boolean {
  return a === b || a === "" || b === "" || a === "::" || b === "::";
}

/** The same host port, protocol and (overlapping) host address published twice can never both bind. */
export function checkPortConflicts(mappings: readonly PortMapping[]): void {
  const taken = new Map<string, string[]>();
  for (const m of mappings) {
    if (m.hostPort === 0) continue;
    for (let i = 0; i < m.range; i++) {
      const key = `${m.hostPort + i}/${m.protocol}`;
      const ips = taken.get(key) ?? [];
      const clash = ips.find((ip) => addressesOverlap(ip, m.hostIP));
      if (clash !== undefined) {
        // podman's words (specgen's port parsing), then which
        const conflicting = `conflicting port mappings for host port ${m.hostPort + i} (protocol ${m.protocol})`;
        if (clash === m.hostIP) throw new UsageError(`${conflicting}: host port ${hostAddress(m.hostIP, m.hostPort + i)}/${m.protocol} is published twice`);
        throw new UsageError(`${conflicting}: host port ${key} is published on both ${displayIP(clash)} and ${displayIP(m.hostIP)}`);
      }
      ips.push(m.hostIP);
      taken.set(key, ips);
    }
  }
}

/** The portmap plugin's capability argument: one entry per port. Host ports must have been chosen. */
export function toCniPortMappings(mappings: readonly PortMapping[]): CniPortMapping[] {
  return mappings.flatMap((m) => {
    if (m.hostPort === 0) {
      throw new CtrnetError(`no host port has been chosen for container port ${m.containerPort}/${m.protocol}`);
    }
    return Array.from({ length: m.range }, (_, i) => ({
      hostPort: m.hostPort + i,
      containerPort: m.containerPort + i,
      protocol: m.protocol,
      hostIP: m.hostIP,
    }));
  });
}

function displayIP(ip: string): string {
  return ip === "" ? "0.0.0.0" : ip;
}

function hostAddress(ip: string, port: number | string): string {
  const shown = displayIP(ip);
  return shown.includes(":") ? `[${shown}]:${port}` : `${shown}:${port}`;
}

function portText(start: number, range: number): string {
  return range === 1 ? `${start}` : `${start}-${start + range - 1}`;
}

/**
 * `ctrnet port` output: `80/tcp -> 0.0.0.0:8080`, ranges as `80-82/tcp -> 0.0.0.0:8080-8082`; a host port
 * not chosen yet shows as 0.
 */
export function formatPort(m: PortMapping): string {
  const host = m.hostPort === 0 ? "0" : portText(m.hostPort, m.range);
  return `${portText(m.containerPort, m.range)}/${m.protocol} -> ${hostAddress(m.hostIP, host)}`;
}

/**
 * podman ps's PORTS (cmd/podman/containers/ps.go portsToString): `0.0.0.0:8080->80/tcp`, ranges as
 * `0.0.0.0:8080-8082->80-82/tcp`, then the exposed ports nothing publishes, by protocol and number,
 * consecutive ones joined (`1000-9999/tcp`); comma-separated. The host address is printed bare, IPv6 too.
 */
export function psPortsText(ports: readonly PortMapping[], exposed: readonly ExposedPort[] = []): string {
  const parts: string[] = [];
  const published = new Set<string>();
  // podman's specgen keeps each host address's and protocol's mappings by host port: ps shows them so
  const groups = new Map<string, number>();
  for (const m of ports) if (!groups.has(`${m.hostIP}/${m.protocol}`)) groups.set(`${m.hostIP}/${m.protocol}`, groups.size);
  const group = (m: PortMapping) => groups.get(`${m.hostIP}/${m.protocol}`)!;
  const byHostPort = [...ports].sort((a, b) => group(a) - group(b) || a.hostPort - b.hostPort || a.containerPort - b.containerPort);
  for (const m of byHostPort) {
    const ip = displayIP(m.hostIP);
    parts.push(m.range > 1 ? `${ip}:${m.hostPort}-${m.hostPort + m.range - 1}->${m.containerPort}-${m.containerPort + m.range - 1}/${m.protocol}` : `${ip}:${m.hostPort}->${m.containerPort}/${m.protocol}`);
    for (let i = 0; i < m.range; i++) published.add(`${m.containerPort + i}/${m.protocol}`);
  }
  const singles = [...new Map(exposed.flatMap((e) => Array.from({ length: e.range }, (_, i) => [`${e.containerPort + i}/${e.protocol}`, { num: e.containerPort + i, protocol: e.protocol }] as const))).values()]
    .filter((p) => !published.has(`${p.num}/${p.protocol}`))
    .sort((a, b) => (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.num - b.num));
  let run: { num: number; protocol: string; range: number } | undefined;
  const flush = () => run && parts.push(`${portText(run.num, run.range + 1)}/${run.protocol}`);
  for (const p of singles) {
    if (run && run.protocol === p.protocol && run.num + run.range + 1 === p.num) {
      run.range++;
      continue;
    }
    flush();
    run = { ...p, range: 0 };
  }
  flush();
  return parts.join(", ");
}

/**
 * The mappings a `portMappings` capability argument was made from, back as ranges: consecutive host and
 * container ports of one protocol and host address join up again (the inverse of toCniPortMappings, for
 * records rebuilt from the CNI cache). Entries that are not port mappings are left out.
 */
export function fromCniPortMappings(entries: readonly unknown[]): PortMapping[] {
  const singles = entries.flatMap((e) => {
    const parsed = v.safeParse(PortMapping, { ...(e as object), hostIP: (e as { hostIP?: unknown })?.hostIP ?? "", range: 1 });
    return parsed.success ? [parsed.output] : [];
  });
  singles.sort((a, b) => a.protocol.localeCompare(b.protocol) || a.hostIP.localeCompare(b.hostIP) || a.hostPort - b.hostPort);
  const out: PortMapping[] = [];
  for (const m of singles) {
    const last = out.at(-1);
    if (last && last.protocol === m.protocol && last.hostIP === m.hostIP && last.hostPort + last.range === m.hostPort && last.containerPort + last.range === m.containerPort) {
      last.range++;
    } else {
      out.push({ ...m });
    }
  }
  return out;
}

/** A port or range named by `--expose` (podman's ExposedPorts): published only with `-P`. */
export const ExposedPort = v.pipe(
  v.object({
    containerPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(MAX_PORT)),
    protocol: v.picklist(PROTOCOLS),
    range: v.pipe(v.number(), v.integer(), v.minValue(1)),
  }),
  v.check((e) => e.containerPort + e.range - 1 <= MAX_PORT, "the exposed port range ends past 65535"),
);
export type ExposedPort = v.InferOutput<typeof ExposedPort>;

/**
 * One `--expose PORT[-END][/PROTO]` value, with podman's messages (`invalid range format for --expose`,
 * `unrecognized protocol`, `port numbers must be between 1 and 65535`).
 */
export function parseExposeSpec(spec: string): ExposedPort {
  const slash = spec.indexOf("/");
  const portText = slash < 0 ? spec : spec.slice(0, slash);
  // podman's: "90/" is 90/tcp
  const protoText = slash < 0 || slash === spec.length - 1 ? "tcp" : spec.slice(slash + 1);
  const protocol = protoText.toLowerCase();
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new UsageError(`validating protocols for exposed port ${portText}: unrecognized protocol ${JSON.stringify(protoText)} in port mapping`);
  }
  if (portText === "") throw new UsageError(`invalid range format for --expose: ${spec}: Empty string specified for ports.`);
  const bounds = portText.split("-");
  if (bounds.length > 2 || !bounds.every((b) => /^[0-9]+$/.test(b))) {
    throw new UsageError(`invalid range format for --expose: ${spec}: expected PORT or START-END, with an optional /tcp, /udp or /sctp`);
  }
  const [start, end = start] = bounds.map(Number) as [number, number?];
  for (const port of [start, end]) {
    if (port > MAX_PORT) throw new UsageError(`invalid range format for --expose: ${spec}: port ${port} is out of range`);
    if (port < 1) throw new UsageError(`port numbers must be between 1 and ${MAX_PORT} (inclusive), got ${port}`);
  }
  if (end < start) throw new UsageError(`invalid range format for --expose: ${spec}: Invalid range specified for the Port: ${portText}`);
  return { containerPort: start, protocol: protocol as Protocol, range: end - start + 1 };
}

/** Every `--expose` value; the same port and protocol named twice is kept once. */
export function parseExposeSpecs(specs: readonly string[]): ExposedPort[] {
  const out: ExposedPort[] = [];
  for (const e of specs.map(parseExposeSpec)) {
    if (!out.some((o) => o.protocol === e.protocol && o.containerPort === e.containerPort && o.range === e.range)) out.push(e);
  }
  return out;
}

/**
 * podman's `-P`: each exposed container port no `-p` mapping covers (same port and protocol) published on
 * its own free host port, on every host address, as podman's publish-all does (a range gives one mapping a port).
 */
export function publishAllMappings(exposed: readonly ExposedPort[], published: readonly PortMapping[]): PortMapping[] {
  const out: PortMapping[] = [];
  const covered = (port: number, protocol: Protocol) =>
    [...published, ...out].some((m) => m.protocol === protocol && port >= m.containerPort && port < m.containerPort + m.range);
  for (const e of exposed) {
    for (let port = e.containerPort; port < e.containerPort + e.range; port++) {
      if (!covered(port, e.protocol)) out.push({ hostIP: "", hostPort: 0, containerPort: port, protocol: e.protocol, range: 1 });
    }
  }
  return out;
}
