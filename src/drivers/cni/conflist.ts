// The conflists ctrnet writes, in the shapes podman v3 writes: a bridge network (bridge with host-local
// IPAM, portmap, firewall, tuning, and dnsname when asked for) and a macvlan network (macvlan with
// host-local, tuning). Pure: it only builds the JSON objects.
import { UsageError } from "../../errors.ts";
import { validateName } from "../../names.ts";
import { type Cidr, formatCidr, formatIP, parseIP } from "../../ip/codec.ts";
import { firstHost, lastHost, parseSubnet, subnetContains, subnetsOverlap } from "../../schema/ip.ts";
import { validateIfName } from "./ifname.ts";

/**
 * Network-level facts the plugins never read, kept in the list's top-level `args`: podman 4 reads labels
 * and options from `podman_labels` and `podman_options`, so it shows them for ctrnet's networks too.
 */
export interface ConflistArgs {
  id?: string;
  /** RFC 3339 time of creation. */
  created?: string;
  labels?: Readonly<Record<string, string>>;
  options?: Readonly<Record<string, string>>;
}

interface AddressingSpec {
  name: string;
  /** One or more subnets (IPv4 and/or IPv6), e.g. ["10.89.0.0/24", "fd00:89::/64"]. */
  subnets: readonly string[];
  /** Gateway of the subnet that contains it; the others get their first host address. */
  gateway?: string;
  /** Allocate container addresses only from this CIDR, inside one of the subnets. */
  ipRange?: string;
  mtu?: number;
  /** host-local's allocation directory (default /var/lib/cni/networks). */
  ipamDataDir?: string;
  /** Default 1.0.0, the newest version the reference plugins v1.1.x speak. */
  cniVersion?: string;
  args?: ConflistArgs;
}

export interface BridgeNetworkSpec extends AddressingSpec {
  /** The host bridge interface, e.g. cni-podman1. */
  bridge: string;
  /** Masquerade traffic leaving the subnet. Default true; always off for internal networks. */
  ipMasq?: boolean;
  /** Give the bridge the gateway address. Default true; always off for internal networks. */
  isGateway?: boolean;
  /** VLAN tag on the bridge ports; 0 or absent for none. */
  vlan?: number;
  /** No gateway on the bridge, no masquerading, no default route: containers reach only each other. */
  internal?: boolean;
  /** Adds the dnsname plugin, which answers for container names under this domain. */
  dnsDomain?: string;
}

export const MACVLAN_MODES = ["bridge", "private", "vepa", "passthru"] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

export interface MacvlanNetworkSpec extends AddressingSpec {
  /** The host interface the containers' macvlan devices hang off. */
  master: string;
  mode?: MacvlanMode;
}

interface HostLocalRange {
  subnet: string;
  gateway?: string;
  rangeStart?: string;
  rangeEnd?: string;
}

function checkInteger(what: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`invalid ${what} ${value}: must be an integer from ${min} to ${max}`);
}

/** Byte order is numeric order for addresses of one family. */
function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function parseSubnets(subnets: readonly string[]): Cidr[] {
  if (subnets.length === 0) throw new UsageError("a network needs at least one subnet");
  const out = subnets.map((s) => parseSubnet(s));
  for (const [i, a] of out.entries()) {
    for (const b of out.slice(i + 1)) {
      if (subnetsOverlap(a, b)) throw new UsageError(`subnets ${formatCidr(a)} and ${formatCidr(b)} overlap`);
    }
  }
  return out;
}

function owner(subnets: Cidr[], what: string, text: string, ip: Uint8Array): number {
  const index = subnets.findIndex((s) => subnetContains(s, ip));
  if (index < 0) throw new UsageError(`${what} ${text} is in none of the subnets ${subnets.map(formatCidr).join(", ")}`);
  return index;
}

function ranges(spec: AddressingSpec, subnets: Cidr[], defaultGateways: boolean): HostLocalRange[] {
  const out: HostLocalRange[] = subnets.map((s) => ({
    subnet: formatCidr(s),
    ...(defaultGateways ? { gateway: formatIP(firstHost(s)) } : {}),
  }));
  if (spec.gateway !== undefined) {
    const gw = parseIP(spec.gateway);
    if (gw === null) throw new UsageError(`invalid gateway "${spec.gateway}": expected an IP address`);
    const i = owner(subnets, "gateway", spec.gateway, gw);
    const subnet = subnets[i]!;
    if (compare(gw, firstHost(subnet)) < 0 || compare(gw, lastHost(subnet)) > 0) {
      throw new UsageError(`gateway ${spec.gateway} is not a host address of ${out[i]!.subnet}`);
    }
    out[i]!.gateway = formatIP(gw);
  }
  if (spec.ipRange !== undefined) {
    const range = parseSubnet(spec.ipRange, "IP range");
    const i = owner(subnets, "IP range", spec.ipRange, range.address);
    if (range.prefixLength < subnets[i]!.prefixLength) throw new UsageError(`IP range ${spec.ipRange} is larger than its subnet ${out[i]!.subnet}`);
    // The range's own first and last hosts: inside the subnet, they are never its network or broadcast address.
    out[i]!.rangeStart = formatIP(firstHost(range));
    out[i]!.rangeEnd = formatIP(lastHost(range));
  }
  return out;
}

/** host-local over every subnet; `routed` adds a default route per address family. */
function hostLocalIpam(spec: AddressingSpec, routed: boolean): Record<string, unknown> {
  const subnets = parseSubnets(spec.subnets);
  const ipam: Record<string, unknown> = {
    type: "host-local",
    // One range set per subnet: host-local then hands out one address from each (dual stack).
    ranges: ranges(spec, subnets, routed).map((r) => [r]),
  };
  if (routed) {
    const families = [...new Set(subnets.map((s) => s.address.length))];
    ipam.routes = families.map((bytes) => ({ dst: bytes === 4 ? "0.0.0.0/0" : "::/0" }));
  }
  if (spec.ipamDataDir !== undefined) ipam.dataDir = spec.ipamDataDir;
  return ipam;
}

function listArgs(args: ConflistArgs | undefined): Record<string, unknown> {
  if (args === undefined) return {};
  const out: Record<string, unknown> = {};
  if (args.id !== undefined) out.ctrnet_id = args.id;
  if (args.created !== undefined) out.ctrnet_created = args.created;
  if (args.labels && Object.keys(args.labels).length) out.podman_labels = { ...args.labels };
  if (args.options && Object.keys(args.options).length) out.podman_options = { ...args.options };
  return Object.keys(out).length ? { args: out } : {};
}

function conflist(spec: AddressingSpec, plugins: Record<string, unknown>[]): Record<string, unknown> {
  return { cniVersion: spec.cniVersion ?? "1.0.0", name: spec.name, plugins, ...listArgs(spec.args) };
}

export function bridgeConflist(spec: BridgeNetworkSpec): Record<string, unknown> {
  validateName("network name", spec.name);
  validateIfName("bridge name", spec.bridge);
  checkInteger("MTU", spec.mtu, 68, 65535);
  checkInteger("VLAN", spec.vlan, 0, 4094);
  const internal = spec.internal ?? false;
  const bridge: Record<string, unknown> = {
    type: "bridge",
    bridge: spec.bridge,
    isGateway: !internal && (spec.isGateway ?? true),
    ipMasq: !internal && (spec.ipMasq ?? true),
    hairpinMode: true,
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.vlan ? { vlan: spec.vlan } : {}),
    // host-local reads a requested static address from runtimeConfig.ips of the bridge's stdin.
    capabilities: { ips: true },
    ipam: hostLocalIpam(spec, !internal),
  };
  const plugins = [
    bridge,
    { type: "portmap", capabilities: { portMappings: true } },
    { type: "firewall" },
    { type: "tuning", capabilities: { mac: true } },
  ];
  if (spec.dnsDomain !== undefined) plugins.push({ type: "dnsname", domainName: spec.dnsDomain, capabilities: { aliases: true } });
  return conflist(spec, plugins);
}

export function macvlanConflist(spec: MacvlanNetworkSpec): Record<string, unknown> {
  validateName("network name", spec.name);
  validateIfName("parent interface name", spec.master);
  checkInteger("MTU", spec.mtu, 68, 65535);
  if (spec.mode !== undefined && !MACVLAN_MODES.includes(spec.mode)) {
    throw new UsageError(`invalid macvlan mode "${spec.mode}": use one of ${MACVLAN_MODES.join(", ")}`);
  }
  const macvlan: Record<string, unknown> = {
    type: "macvlan",
    master: spec.master,
    ...(spec.mode !== undefined ? { mode: spec.mode } : {}),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    capabilities: { ips: true },
    ipam: hostLocalIpam(spec, true),
  };
  return conflist(spec, [macvlan, { type: "tuning", capabilities: { mac: true } }]);
}
