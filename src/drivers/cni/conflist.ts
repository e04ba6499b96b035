// The conflists ctrnet writes, in the shapes podman v3 writes: a bridge network (bridge with host-local
// IPAM, portmap, firewall, tuning, and dnsname when asked for) and a macvlan network (macvlan with
// host-local, tuning). Pure: it only builds the JSON objects.
import { quote, UsageError } from "../../errors.ts";
import { validateName } from "../../names.ts";
import { type Cidr, formatCidr, formatIP, parseCidr, parseIP } from "../../ip/codec.ts";
import { firstHost, lastHost, maskAddress, nthAddress, parseSubnet, subnetContains, subnetsOverlap } from "../../schema/ip.ts";
import { IPVLAN_MODES, MACVLAN_MODES } from "../../schema/ctrnet-plugin.ts";
import { validateIfName } from "./ifname.ts";

/**
 * Network-level facts the plugins never read, kept in the list's top-level `args`: podman 4 reads labels
 * and options from `podman_labels` and `podman_options`, so it shows them for ctrnet's networks too.
 */
export interface ConflistArgs {
  /** RFC 3339 time of creation. */
  created?: string;
  labels?: Readonly<Record<string, string>>;
  options?: Readonly<Record<string, string>>;
  /** ctrnet's own DNS server answers for the network's containers (`ctrnet_dns`; see drivers/dns). */
  dns?: boolean;
  /** podman's `--dns`: the servers ctrnet's DNS server forwards to for this network's containers (`ctrnet_dns_servers`). */
  dnsServers?: readonly string[];
}

/** podman's `--route`: a static route given to every container of the network (host-local's ipam `routes`). */
export interface StaticRoute {
  /** A network in CIDR notation, host bits clear. */
  destination: string;
  gateway: string;
  metric?: number;
}

interface AddressingSpec {
  name: string;
  /** One or more subnets (IPv4 and/or IPv6), e.g. ["10.89.0.0/24", "fd00:89::/64"]. */
  subnets: readonly string[];
  /** The gateway of each subnet, by position, as podman pairs `--gateway` with `--subnet`; the rest get their first host. */
  gateways?: readonly string[];
  /** By position as gateways: hand out addresses of that subnet only from this CIDR inside it. */
  ipRanges?: readonly string[];
  mtu?: number;
  /** host-local's allocation directory (default /var/lib/cni/networks). */
  ipamDataDir?: string;
  /** Default 1.0.0, the newest version the reference plugins v1.1.x speak. */
  cniVersion?: string;
  args?: ConflistArgs;
  /** Static routes; each gateway of a family one of the subnets has. */
  routes?: readonly StaticRoute[];
  /** podman's `metric` option: the metric of the containers' default routes (the route's `priority`). */
  metric?: number;
  /** podman's `no_default_route`: the ipam section lists no default route (`routes` there, without one). */
  noDefaultRoute?: boolean;
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
  /**
   * No masquerading, no default route, nothing forwarded off the bridge: containers reach only each other.
   * The reference chain's bridge gets no address (isGateway false, as podman 4's CNI backend writes it);
   * ctrnet's own plugin gives it the gateway when it has DNS, as netavark does, so the DNS server can answer there.
   */
  internal?: boolean;
  /** Adds the dnsname plugin, which answers for container names under this domain. */
  dnsDomain?: string;
}

export { IPVLAN_MODES, MACVLAN_MODES };
export type VlanDriver = "macvlan" | "ipvlan";
export type VlanMode = (typeof MACVLAN_MODES)[number] | (typeof IPVLAN_MODES)[number];

export interface MacvlanNetworkSpec extends AddressingSpec {
  /** macvlan (the default) or ipvlan. */
  driver?: VlanDriver;
  /** The host interface the containers' macvlan or ipvlan devices hang off; absent: the default route's. */
  master?: string;
  /** One of MACVLAN_MODES for macvlan, IPVLAN_MODES for ipvlan. */
  mode?: VlanMode;
  /** podman's bclim (macvlan, ctrnet's plugin): the broadcast queue cutoff. */
  bclim?: number;
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
      // podman's (netavark create's) words: "duplicate subnet", "overlapping subnets"
      if (formatCidr(a) === formatCidr(b)) throw new UsageError(`duplicate subnet ${formatCidr(a)}`);
      if (subnetsOverlap(a, b)) throw new UsageError(`overlapping subnets ${formatCidr(a)} and ${formatCidr(b)}`);
    }
  }
  return out;
}

function checkGateway(text: string, subnet: Cidr, subnetText: string): string {
  const gw = parseIP(text);
  if (gw === null) throw new UsageError(`invalid gateway "${text}": expected an IP address`);
  if (!subnetContains(subnet, gw)) throw new UsageError(`gateway ${text} not in subnet ${subnetText}`);
  if (compare(gw, firstHost(subnet)) < 0 || compare(gw, lastHost(subnet)) > 0) {
    throw new UsageError(`gateway ${text} is not a host address of ${subnetText}`);
  }
  return formatIP(gw);
}

/** An `--ip-range` as podman's CLI reads it (parseRange), before it looks at the subnet: START-END, or a CIDR. */
export function parseIpRange(text: string): { start: Uint8Array; end: Uint8Array } | { cidr: Cidr } {
  const dash = text.indexOf("-");
  if (dash >= 0 && !text.includes("/")) {
    const [start, end] = [text.slice(0, dash), text.slice(dash + 1)].map((t, i) => {
      const ip = parseIP(t);
      if (ip === null) throw new UsageError(`range ${i === 0 ? "start" : "end"} ip ${quote(t)} is not a ip address`);
      return ip;
    }) as [Uint8Array, Uint8Array];
    return { start, end };
  }
  const cidr = parseCidr(text);
  if (cidr === null) throw new UsageError(`invalid IP range "${text}": expected an address and a prefix length like 10.89.0.0/26, or START-END`);
  return { cidr };
}

/**
 * podman's lease range for `--ip-range`: from the range's first address after its network address to its
 * last address (10.11.12.0/26: .1 to .63), kept within the subnet's hosts so the broadcast is never handed out.
 */
function leaseRange(text: string, subnet: Cidr, subnetText: string): { rangeStart: string; rangeEnd: string } {
  const parsed = parseIpRange(text);
  if ("start" in parsed) {
    // podman 5's other form: START-END, both addresses of the subnet
    for (const ip of [parsed.start, parsed.end]) {
      if (ip.length !== subnet.address.length || !subnetContains(subnet, ip)) throw new UsageError(`IP range ${text}: ${formatIP(ip)} not in subnet ${subnetText}`);
    }
    if (compare(parsed.start, parsed.end) > 0) throw new UsageError(`IP range ${text}: its start is after its end`);
    return { rangeStart: formatIP(parsed.start), rangeEnd: formatIP(parsed.end) };
  }
  const { cidr } = parsed;
  const range = { address: maskAddress(cidr.address, cidr.prefixLength), prefixLength: cidr.prefixLength };
  if (!subnetContains(subnet, range.address)) throw new UsageError(`IP range ${text} not in subnet ${subnetText}`);
  if (range.prefixLength < subnet.prefixLength) throw new UsageError(`IP range ${text} is larger than its subnet ${subnetText}`);
  const bits = range.address.length * 8;
  const start = range.prefixLength === bits ? range.address : nthAddress(range, 1n);
  const end = nthAddress(range, (1n << BigInt(bits - range.prefixLength)) - 1n);
  const [first, last] = [firstHost(subnet), lastHost(subnet)];
  return {
    rangeStart: formatIP(compare(start, first) < 0 ? first : start),
    rangeEnd: formatIP(compare(end, last) > 0 ? last : end),
  };
}

function ranges(spec: AddressingSpec, subnets: Cidr[], defaultGateways: boolean): HostLocalRange[] {
  const gateways = spec.gateways ?? [];
  const ipRanges = spec.ipRanges ?? [];
  if (gateways.length > subnets.length) throw new UsageError("cannot set more gateways than subnets");
  if (ipRanges.length > subnets.length) throw new UsageError("cannot set more ranges than subnets");
  return subnets.map((subnet, i) => {
    const text = formatCidr(subnet);
    const gateway = gateways[i] === undefined ? (defaultGateways ? formatIP(firstHost(subnet)) : undefined) : checkGateway(gateways[i]!, subnet, text);
    return {
      subnet: text,
      ...(gateway !== undefined ? { gateway } : {}),
      ...(ipRanges[i] !== undefined ? leaseRange(ipRanges[i]!, subnet, text) : {}),
    };
  });
}

/**
 * host-local over every subnet; `routed` adds a default route per address family; `gateways` writes each
 * range's gateway (its first address unless given), `routed` by default.
 */
function hostLocalIpam(spec: AddressingSpec, routed: boolean, gateways = routed): Record<string, unknown> {
  const subnets = parseSubnets(spec.subnets);
  const ipam: Record<string, unknown> = {
    type: "host-local",
    // One range set per subnet: host-local then hands out one address from each (dual stack).
    ranges: ranges(spec, subnets, gateways).map((r) => [r]),
  };
  const statics = staticRoutes(spec, subnets);
  if (routed || statics.length || spec.noDefaultRoute) {
    const families = routed && !spec.noDefaultRoute ? [...new Set(subnets.map((s) => s.address.length))] : [];
    // present without a default route: no default route (the reference bridge plugin reads it so, and ctrnet's)
    const priority = spec.metric !== undefined ? { priority: spec.metric } : {};
    ipam.routes = [...families.map((bytes) => ({ dst: bytes === 4 ? "0.0.0.0/0" : "::/0", ...priority })), ...statics];
  }
  if (spec.ipamDataDir !== undefined) ipam.dataDir = spec.ipamDataDir;
  return ipam;
}

/**
 * host-local's ipam routes for `--route`, the metric as CNI 1.1's route `priority`. As podman, a gateway
 * outside the network's subnets is accepted (the container reaches it only if its link does); one of a
 * family the network has no subnet of is refused, as no container of it could ever use it.
 */
function staticRoutes(spec: AddressingSpec, subnets: readonly Cidr[]): Record<string, unknown>[] {
  return (spec.routes ?? []).map((route) => {
    const gw = parseIP(route.gateway);
    if (gw === null) throw new UsageError(`invalid route gateway ${route.gateway}`);
    if (!subnets.some((s) => s.address.length === gw.length)) {
      throw new UsageError(`route gateway ${route.gateway} is of an IP family no subnet of the network has (${subnets.map(formatCidr).join(", ")})`);
    }
    return { dst: route.destination, gw: route.gateway, ...(route.metric !== undefined ? { priority: route.metric } : {}) };
  });
}

function listArgs(args: ConflistArgs | undefined): Record<string, unknown> {
  if (args === undefined) return {};
  const out: Record<string, unknown> = {};
  if (args.created !== undefined) out.ctrnet_created = args.created;
  if (args.labels && Object.keys(args.labels).length) out.podman_labels = { ...args.labels };
  if (args.options && Object.keys(args.options).length) out.podman_options = { ...args.options };
  if (args.dns) out.ctrnet_dns = true;
  if (args.dnsServers?.length) out.ctrnet_dns_servers = [...args.dnsServers];
  return Object.keys(out).length ? { args: out } : {};
}

/**
 * ctrnetDnsEnabled's answers by the loaded bytes of a configuration, which config.ts keeps (and never
 * changes) while its file is unchanged: a create asks of every network several times (the DNS server's
 * networks, resolv.conf).
 */
const dnsEnabledOf = new WeakMap<Uint8Array, boolean>();

/** Whether the list's `args` turn on ctrnet's DNS server for the network (written by `network create`). */
export function ctrnetDnsEnabled(bytes: Uint8Array): boolean {
  let enabled = dnsEnabledOf.get(bytes);
  if (enabled === undefined) {
    try {
      const json = JSON.parse(new TextDecoder().decode(bytes)) as { args?: { ctrnet_dns?: unknown } };
      enabled = json.args?.ctrnet_dns === true;
    } catch {
      enabled = false;
    }
    dnsEnabledOf.set(bytes, enabled);
  }
  return enabled;
}

function conflist(spec: AddressingSpec, plugins: Record<string, unknown>[]): Record<string, unknown> {
  return { cniVersion: spec.cniVersion ?? "1.0.0", name: spec.name, plugins, ...listArgs(spec.args) };
}

/** The checks both bridge conflists make; whether the network is internal. */
function checkBridgeSpec(spec: BridgeNetworkSpec): boolean {
  validateName("network name", spec.name);
  validateIfName("bridge name", spec.bridge);
  checkInteger("MTU", spec.mtu, 68, 65535);
  checkInteger("VLAN", spec.vlan, 0, 4094);
  return spec.internal ?? false;
}

export function bridgeConflist(spec: BridgeNetworkSpec): Record<string, unknown> {
  const internal = checkBridgeSpec(spec);
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

export interface NativeNetworkSpec extends BridgeNetworkSpec {
  /** podman's `-o isolate=true|strict`. */
  isolate?: "true" | "strict";
  /** podman's `--ipam-driver none`: no ipam section, no address. */
  noIpam?: boolean;
  /** podman's `-o vrf=NAME`: the bridge, when made, is enslaved to this VRF device. */
  vrf?: string;
  /** podman 5's `-o mode=unmanaged`: the host's bridge, used as it is, with no firewall rule. */
  unmanaged?: boolean;
}

/**
 * A network served by ctrnet's own plugin (`type: ctrnet`): the bridge, addresses, firewall and ports of
 * the reference chain in one plugin, with the same options and a host-local `ipam` section. Any CNI
 * runtime that finds ctrnet on its plugin path can use it.
 */
export function nativeConflist(spec: NativeNetworkSpec): Record<string, unknown> {
  const internal = checkBridgeSpec(spec);
  const plugin: Record<string, unknown> = {
    type: "ctrnet",
    bridge: spec.bridge,
    isGateway: !internal && (spec.isGateway ?? true),
    ipMasq: !internal && (spec.ipMasq ?? true),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.vlan ? { vlan: spec.vlan } : {}),
    ...(spec.isolate ? { isolate: spec.isolate } : {}),
    ...(spec.vrf ? { vrf: spec.vrf } : {}),
    ...(spec.unmanaged ? { mode: "unmanaged", ...(spec.args?.dns ? { ctrnetDns: true } : {}) } : {}),
    // isGateway and ipMasq stay false, so podman and older ctrnets read the network as internal too
    ...(internal ? { internal: true } : {}),
    capabilities: { portMappings: true, ips: true, mac: true },
    // netavark's rule (podman's "add gateway when not internal or dns enabled"): an internal network with DNS
    // keeps its gateways on the bridge for the DNS server, with no default route to them; one without DNS has
    // only the gateways given with --gateway
    ...(spec.noIpam ? {} : { ipam: hostLocalIpam(spec, !internal, !internal || spec.args?.dns === true) }),
  };
  return conflist(spec, [plugin]);
}

function checkVlanSpec(spec: MacvlanNetworkSpec): VlanDriver {
  validateName("network name", spec.name);
  if (spec.master !== undefined) validateIfName("parent interface name", spec.master);
  checkInteger("MTU", spec.mtu, 68, 65535);
  const driver = spec.driver ?? "macvlan";
  const modes: readonly string[] = driver === "macvlan" ? MACVLAN_MODES : IPVLAN_MODES;
  if (spec.mode !== undefined && !modes.includes(spec.mode)) throw new UsageError(`invalid ${driver} mode "${spec.mode}": use one of ${modes.join(", ")}`);
  return driver;
}

/** The reference macvlan (or ipvlan) plugin with host-local, then tuning (macvlan only: an ipvlan has its parent's MAC). */
export function macvlanConflist(spec: MacvlanNetworkSpec): Record<string, unknown> {
  return vlanConflist(spec, { capabilities: { ips: true }, ipam: hostLocalIpam(spec, true) });
}

/**
 * podman 5's bridge network with `-o mode=unmanaged --ipam-driver dhcp`: the host's bridge (on the LAN, whose
 * DHCP server hands out the addresses, asked by CNI's dhcp plugin and its daemon), joined by the reference
 * bridge plugin with no address, masquerade or port of its own; `"mode": "unmanaged"` on it tells ctrnet
 * that the bridge is the host's (checked before an attach, never deleted). Then tuning, for a MAC asked for.
 */
export function dhcpBridgeConflist(spec: BridgeNetworkSpec): Record<string, unknown> {
  checkBridgeSpec(spec);
  const bridge: Record<string, unknown> = {
    type: "bridge",
    bridge: spec.bridge,
    isGateway: false,
    ipMasq: false,
    hairpinMode: true,
    mode: "unmanaged",
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.vlan ? { vlan: spec.vlan } : {}),
    ipam: { type: "dhcp" },
  };
  return conflist(spec, [bridge, { type: "tuning", capabilities: { mac: true } }]);
}

/**
 * podman's macvlan (or ipvlan) network without a subnet: the reference link plugin with CNI's dhcp IPAM,
 * which asks the LAN's DHCP server through the dhcp plugin's daemon; then tuning, as macvlanConflist.
 */
export function dhcpVlanConflist(spec: MacvlanNetworkSpec): Record<string, unknown> {
  return vlanConflist(spec, { ipam: { type: "dhcp" } });
}

/** The link plugin with the spec's parent, mode and MTU and the given IPAM; tuning after a macvlan. */
function vlanConflist(spec: MacvlanNetworkSpec, addressing: Record<string, unknown>): Record<string, unknown> {
  const driver = checkVlanSpec(spec);
  const link: Record<string, unknown> = {
    type: driver,
    ...(spec.master !== undefined ? { master: spec.master } : {}),
    ...(spec.mode !== undefined ? { mode: spec.mode } : {}),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...addressing,
  };
  return conflist(spec, driver === "macvlan" ? [link, { type: "tuning", capabilities: { mac: true } }] : [link]);
}

/**
 * A macvlan or ipvlan network served by ctrnet's own plugin (src/drivers/vlan): the link made in the
 * container's netns on the parent, host-local addresses, default routes through the gateways. No
 * portMappings capability: ports are not published on these networks, as with podman's.
 */
export function nativeVlanConflist(spec: MacvlanNetworkSpec): Record<string, unknown> {
  const driver = checkVlanSpec(spec);
  const plugin: Record<string, unknown> = {
    type: "ctrnet",
    driver,
    ...(spec.master !== undefined ? { master: spec.master } : {}),
    ...(spec.mode !== undefined ? { mode: spec.mode } : {}),
    ...(spec.mtu !== undefined ? { mtu: spec.mtu } : {}),
    ...(spec.bclim !== undefined ? { bclim: spec.bclim } : {}),
    capabilities: driver === "macvlan" ? { ips: true, mac: true } : { ips: true },
    ipam: hostLocalIpam(spec, true),
  };
  return conflist(spec, [plugin]);
}
