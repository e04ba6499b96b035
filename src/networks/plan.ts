// The conflist for `network create`, decided from the request and from what already exists (networks,
// host routes and links, installed plugins). Pure, so every rule and message is testable without root;
// every check happens here, before anything is written.
import { type ConflistArgs, bridgeConflist, dhcpBridgeConflist, dhcpVlanConflist, macvlanConflist, nativeConflist, nativeVlanConflist, parseIpRange } from "../drivers/cni/conflist.ts";
import { validateIfName } from "../drivers/cni/ifname.ts";
import { OWN_PLUGIN_TYPE } from "../drivers/cni/exec.ts";
import { UsageError } from "../errors.ts";
import { log } from "../log.ts";
import { validateNetworkName } from "../names.ts";
import { type Cidr, formatCidr, parseIP } from "../ip/codec.ts";
import { parseNetworkSubnet, subnetsOverlap } from "../schema/ip.ts";
import { pickFreeName, pickFreeSubnet, pickRandomIPv6Subnet } from "./free.ts";
import type { HostAddress } from "./host.ts";
import { bridgeStoredOptions, canonicalOptions, type CreateNetworkRequest, parseBridgeOptions, parseDriver, parseMacvlanOptions, parseRoute } from "./options.ts";
import { parseDnsServers } from "./dns-servers.ts";

export interface ExistingNetwork {
  name: string;
  subnets: readonly Cidr[];
  bridge?: string;
}

/** Everything outside the request that the new network must fit around. */
export interface Surroundings {
  networks: readonly ExistingNetwork[];
  /** Destinations of the host's routes (the default route left out). */
  hostRoutes: readonly Cidr[];
  hostAddresses: readonly HostAddress[];
  /** Each host link's kind ("bridge", …; null for physical and loopback devices), by name. */
  hostLinks: ReadonlyMap<string, string | null>;
  /** Plugin types found in the plugin path. */
  plugins: ReadonlySet<string>;
  /** For messages about a missing plugin. */
  pluginPath: readonly string[];
  ipamDataDir: string;
  now: Date;
  /** Where random IPv6 subnets come from: crypto.getRandomValues unless a test fixes it. */
  randomBytes?: (n: number) => Uint8Array;
}

export interface NetworkPlan {
  name: string;
  conflist: Record<string, unknown>;
}

/** The prefix of picked bridge names; N = 0 is the default network's. */
export const BRIDGE_PREFIX = "ctrnet";
/** `--network` values that select a mode, not a network, as podman lists them. */
export const RESERVED_NETWORK_NAMES = ["none", "host", "bridge", "private", "slirp4netns", "pasta", "container", "ns", "default"] as const;

function checkName(name: string): void {
  validateNetworkName(name);
  if ((RESERVED_NETWORK_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(`cannot create network with name "${name}" because it conflicts with a valid network mode`);
  }
}

function planName(request: CreateNetworkRequest, around: Surroundings): string {
  const names = new Set(around.networks.map((n) => n.name));
  if (request.name === undefined) return pickFreeName(BRIDGE_PREFIX, names);
  checkName(request.name);
  if (names.has(request.name)) throw new UsageError(`network name ${request.name} already used: network already exists ${request.name}`);
  return request.name;
}

function checkNoOverlap(subnets: readonly Cidr[], around: Surroundings): void {
  for (const subnet of subnets) {
    for (const other of around.networks) {
      const clash = other.subnets.find((s) => subnetsOverlap(s, subnet));
      // podman's words, then which network has it
      if (clash) throw new UsageError(`subnet ${formatCidr(subnet)} is already used on the host or by another config: it overlaps subnet ${formatCidr(clash)} of network ${other.name}`);
    }
  }
}

/** A bridge subnet the host already reaches is one its containers could never reach past the bridge. */
function checkHostOverlap(subnets: readonly Cidr[], around: Surroundings): void {
  for (const subnet of subnets) {
    const used = `subnet ${formatCidr(subnet)} is already used on the host`;
    const address = around.hostAddresses.find((a) => subnetsOverlap(a.subnet, subnet));
    if (address) throw new UsageError(`${used}: it overlaps address ${address.address} of interface ${address.link}`);
    const route = around.hostRoutes.find((r) => subnetsOverlap(r, subnet));
    if (route) throw new UsageError(`${used}: it overlaps the host's route to ${formatCidr(route)}`);
  }
}

/**
 * The given subnets, host bits cleared as podman does, then picked ones: IPv4 when none is given; with
 * `--ipv6`, IPv4 and IPv6 each when missing (podman's dual stack), IPv6 a random ULA /64.
 */
function planSubnets(request: CreateNetworkRequest, around: Surroundings, bridge: boolean, unmanaged = false): string[] {
  const given = (request.subnets ?? []).map(parseNetworkSubnet);
  // as podman's: only a bridge network's subnets must be free; a macvlan or ipvlan network's are the
  // parent's LAN, which several networks may share (netavark's createIpvlanOrMacvlan checks none); nor an
  // unmanaged bridge's, which is the host's own (containers/common #2322)
  if (bridge && !unmanaged) {
    checkNoOverlap(given, around);
    checkHostOverlap(given, around);
  }
  const out = [...given];
  if (!bridge) return out.map(formatCidr);
  const taken = [...around.networks.flatMap((n) => n.subnets), ...around.hostRoutes, ...around.hostAddresses.map((a) => a.subnet)];
  const has = (family: 4 | 16) => out.some((s) => s.address.length === family);
  if (out.length === 0 || (request.ipv6 && !has(4))) out.push(pickFreeSubnet(taken));
  if (request.ipv6 && !has(16)) out.push(pickRandomIPv6Subnet(taken, around.randomBytes ?? randomBytes));
  return out.map(formatCidr);
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** unmanaged: the bridge is the host's, which other networks may use too (podman's checkBridgeConflict off). */
function planBridgeName(request: CreateNetworkRequest, around: Surroundings, unmanaged = false): string {
  const used = new Map(around.networks.flatMap((n) => (n.bridge === undefined ? [] : [[n.bridge, n.name] as const])));
  if (request.interfaceName === undefined) return pickFreeName(BRIDGE_PREFIX, new Set([...used.keys(), ...around.hostLinks.keys()]));
  const bridge = validateIfName("bridge name", request.interfaceName);
  const owner = used.get(bridge);
  if (owner !== undefined && !unmanaged) throw new UsageError(`bridge name ${bridge} already used by network ${owner}`);
  const kind = around.hostLinks.get(bridge);
  if (kind !== undefined && kind !== "bridge") {
    throw new UsageError(`interface ${bridge} exists on the host and is not a bridge (${kind === null ? "a physical or loopback device" : `a ${kind}`}): give another --interface-name`);
  }
  return bridge;
}

/** The parent, or none: then the host's default route's interface, looked up at each attach (as podman's). */
function planParent(request: CreateNetworkRequest, driver: string, parent: string | undefined, around: Surroundings): string | undefined {
  if (parent !== undefined && request.interfaceName !== undefined && parent !== request.interfaceName) {
    throw new UsageError(`--opt parent=${parent} and --interface-name ${request.interfaceName} disagree: give one`);
  }
  const name = parent ?? request.interfaceName;
  if (name === undefined) return undefined;
  validateIfName("parent interface name", name);
  if (!around.hostLinks.has(name)) throw new UsageError(`parent interface ${name} of the ${driver} network does not exist`);
  return name;
}

function checkPlugins(name: string, conflist: Record<string, unknown>, around: Surroundings): void {
  for (const plugin of conflist.plugins as { type: string; ipam?: { type: string } }[]) {
    // ctrnet's CNI runtime runs its own type in-process, root or rootless (its host-local section is
    // ctrnet's IPAM, not the plugin)
    if (plugin.type === OWN_PLUGIN_TYPE) continue;
    for (const type of [plugin.type, plugin.ipam?.type]) {
      if (type !== undefined && !around.plugins.has(type)) {
        throw new UsageError(`plugin binary "${type}" needed by network ${name} not found in ${around.pluginPath.join(":")}`);
      }
    }
  }
}

function conflistArgs(request: CreateNetworkRequest, around: Surroundings): ConflistArgs {
  const dnsServers = parseDnsServers(request.dnsServers ?? []);
  return { created: around.now.toISOString(), labels: request.labels ?? {}, options: canonicalOptions(request.options ?? {}), dns: !request.disableDns, ...(dnsServers.length ? { dnsServers } : {}) };
}

/**
 * podman's `--ipam-driver none` on a bridge: no addresses at all (the containers' interfaces have their
 * link-local ones only), so no subnet, gateway, route or DNS (containers/common IpamNoneDisableDNS);
 * ctrnet's own plugin, without an ipam section, as podman's CNI backend writes it.
 */
function noIpamConflist(request: CreateNetworkRequest, around: Surroundings, common: { name: string; args: ConflistArgs }): Record<string, unknown> {
  if (request.subnets?.length || request.gateways?.length || request.ipRanges?.length || request.routes?.length || request.ipv6) {
    throw new UsageError("the none ipam driver takes no --subnet, --gateway, --ip-range, --route or --ipv6: its containers get no address");
  }
  const { mtu, vlan, plugin, isolate, bridgeName, vrf, unmanaged } = parseBridgeOptions(request.options ?? {});
  if (plugin === "cni") throw new UsageError("the none ipam driver is served by ctrnet's own plugin: leave out -o plugin=cni");
  const bridge = planBridgeName(bridgeName !== undefined ? { ...request, interfaceName: bridgeName } : request, around, unmanaged);
  const args = { ...common.args, options: bridgeStoredOptions(common.args.options ?? {}), dns: false };
  return nativeConflist({ ...common, args, bridge, subnets: [], mtu, vlan, internal: request.internal, noIpam: true, ...(isolate ? { isolate } : {}), ...(vrf ? { vrf } : {}), ...(unmanaged ? { unmanaged } : {}) });
}

/**
 * podman 5's bridge with the dhcp ipam driver, which netavark serves in unmanaged mode only (`cannot use dhcp
 * ipam driver without using the option mode=unmanaged`, found here before anything is written): the host's
 * bridge on a LAN whose DHCP server gives the addresses, through CNI's dhcp plugin (its daemon must run).
 */
function dhcpBridgeConflist_(request: CreateNetworkRequest, around: Surroundings, common: { name: string; args: ConflistArgs }): Record<string, unknown> {
  const { mtu, vlan, plugin, isolate, bridgeName, vrf, unmanaged } = parseBridgeOptions(request.options ?? {});
  if (!unmanaged) throw new UsageError("cannot use dhcp ipam driver without using the option mode=unmanaged");
  if (request.subnets?.length || request.gateways?.length || request.ipRanges?.length) throw new UsageError("the dhcp ipam driver takes no --subnet, --gateway or --ip-range");
  if (request.routes?.length) throw new UsageError("the dhcp ipam driver takes no --route: the DHCP server gives the routes");
  if (request.internal) throw new UsageError("--internal with the dhcp ipam driver: the DHCP server's LAN is no internal network");
  if (plugin === "ctrnet") throw new UsageError("the dhcp ipam driver needs the reference bridge plugin (CNI's dhcp plugin gives the addresses): leave out -o plugin=ctrnet");
  if (isolate !== undefined) throw new UsageError("--opt isolate needs a managed bridge: an unmanaged one has no firewall rule");
  if (vrf !== undefined) throw new UsageError("--opt vrf needs a managed bridge: an unmanaged one is used as it is");
  if (bridgeName !== undefined && request.interfaceName !== undefined && bridgeName !== request.interfaceName) {
    throw new UsageError(`--opt com.docker.network.bridge.name=${bridgeName} and --interface-name ${request.interfaceName} disagree: give one`);
  }
  const bridge = planBridgeName(bridgeName !== undefined ? { ...request, interfaceName: bridgeName } : request, around, true);
  // no subnet to serve, and the host cannot tell the containers' addresses before the LAN's server does
  const args = { ...common.args, options: bridgeStoredOptions(common.args.options ?? {}), dns: false };
  return dhcpBridgeConflist({ ...common, args, bridge, subnets: [], mtu, vlan });
}

/**
 * What podman's CLI reads before its network backend looks at anything that exists (cmd/podman/networks/
 * create.go, after pflag's IP flags): --gateway and --ip-range counted against --subnet, each subnet with its
 * range, each route. A malformed value is named before a name or a subnet that is taken.
 */
function checkFlagValues(request: CreateNetworkRequest): void {
  for (const gateway of request.gateways ?? []) {
    if (parseIP(gateway) === null) throw new UsageError(`invalid argument "${gateway}" for "--gateway" flag: invalid string being converted to IP address: ${gateway}`);
  }
  const subnets = request.subnets ?? [];
  const ranges = request.ipRanges ?? [];
  if (subnets.length === 0) {
    if (request.gateways?.length || ranges.length) throw new UsageError("cannot set gateway or range without subnet");
  } else {
    if ((request.gateways?.length ?? 0) > subnets.length) throw new UsageError("cannot set more gateways than subnets");
    if (ranges.length > subnets.length) throw new UsageError("cannot set more ranges than subnets");
    subnets.forEach((subnet, i) => {
      parseNetworkSubnet(subnet);
      if (ranges[i] !== undefined) parseIpRange(ranges[i]!);
    });
  }
  for (const route of request.routes ?? []) parseRoute(route);
}

/**
 * What planNetwork refuses without looking at anything else (the flags' values, the name's characters), in
 * its order: for a create to refuse before it takes the networks lock, which makes the state directory.
 */
export function checkRequest(request: CreateNetworkRequest): void {
  checkFlagValues(request);
  if (request.name !== undefined) checkName(request.name);
}

export function planNetwork(request: CreateNetworkRequest, around: Surroundings): NetworkPlan {
  checkFlagValues(request);
  const name = planName(request, around);
  const driver = parseDriver(request.driver);
  const common = {
    name,
    gateways: request.gateways,
    ipRanges: request.ipRanges,
    ipamDataDir: around.ipamDataDir,
    args: conflistArgs(request, around),
    routes: (request.routes ?? []).map(parseRoute),
  };
  const ipamDriver = request.ipamDriver ?? (driver !== "bridge" && !request.subnets?.length ? "dhcp" : "host-local");
  if (ipamDriver === "none" && driver === "bridge") return { name, conflist: noIpamConflist(request, around, common) };
  if (ipamDriver === "dhcp" && driver === "bridge") {
    const conflist = dhcpBridgeConflist_(request, around, common);
    checkPlugins(name, conflist, around);
    return { name, conflist };
  }
  if (ipamDriver !== "host-local" && ipamDriver !== "dhcp") {
    throw new UsageError(`unsupported ipam driver "${ipamDriver}": use host-local (the default), none on a bridge network, or dhcp (macvlan, ipvlan, an unmanaged bridge)`);
  }
  let conflist: Record<string, unknown>;
  if (driver === "bridge") {
    const { mtu, vlan, plugin, isolate, noDefaultRoute, metric, bridgeName, vrf, unmanaged } = parseBridgeOptions(request.options ?? {});
    if (bridgeName !== undefined && request.interfaceName !== undefined && bridgeName !== request.interfaceName) {
      throw new UsageError(`--opt com.docker.network.bridge.name=${bridgeName} and --interface-name ${request.interfaceName} disagree: give one`);
    }
    const bridge = planBridgeName(bridgeName !== undefined ? { ...request, interfaceName: bridgeName } : request, around, unmanaged);
    const subnets = planSubnets(request, around, true, unmanaged);
    common.args = { ...common.args, options: bridgeStoredOptions(common.args.options ?? {}) };
    if (plugin !== "cni") {
      conflist = nativeConflist({
        ...common,
        bridge,
        subnets,
        mtu,
        vlan,
        internal: request.internal,
        noDefaultRoute,
        metric,
        ...(isolate ? { isolate } : {}),
        ...(vrf ? { vrf } : {}),
        ...(unmanaged ? { unmanaged } : {}),
      });
    } else {
      // ctrnet's own DNS server answers for its networks (args.ctrnet_dns), not a dnsmasq per network; an
      // internal bridge of this chain has no address to answer on (podman 4's CNI backend: no DNS either)
      const args = request.internal && common.args.dns ? { ...common.args, dns: false } : common.args;
      if (args !== common.args) log.warn(`DNS is off on internal network ${name}: the reference CNI chain gives its bridge no address to answer on (ctrnet's own plugin does)`);
      conflist = bridgeConflist({ ...common, args, bridge, subnets, mtu, vlan, internal: request.internal, noDefaultRoute, metric });
    }
  } else {
    if (request.internal) throw new UsageError("--internal is supported by the bridge driver only");
    const { mtu, mode, parent, plugin, noDefaultRoute, metric, bclim } = parseMacvlanOptions(request.options ?? {}, driver);
    const master = planParent(request, driver, parent, around);
    if (ipamDriver === "dhcp") {
      // podman's default without --subnet: the LAN's DHCP server hands out the addresses, asked by CNI's
      // dhcp plugin (its daemon must run when a container attaches), under the reference link plugin
      if (request.subnets?.length || request.gateways?.length || request.ipRanges?.length) throw new UsageError("the dhcp ipam driver takes no --subnet, --gateway or --ip-range");
      if (request.routes?.length) throw new UsageError("the dhcp ipam driver takes no --route: the DHCP server gives the routes");
      if (plugin === "ctrnet") throw new UsageError(`the dhcp ipam driver needs the reference ${driver} plugin: -o plugin=cni (the default with dhcp)`);
      const { parent: _, ...options } = canonicalOptions(request.options ?? {});
      if (noDefaultRoute) throw new UsageError("the dhcp ipam driver takes no no_default_route: the DHCP server gives the routes");
      if (bclim !== undefined) throw new UsageError("--opt bclim needs ctrnet's own plugin, which the dhcp ipam driver does not use: give --subnet");
      conflist = dhcpVlanConflist({ ...common, args: { ...common.args, options, dns: false }, subnets: [], driver, master, mode, mtu });
      checkPlugins(name, conflist, around);
      return { name, conflist };
    }
    // The containers share the parent's LAN, whose addressing only the user knows: nothing to pick.
    if (!request.subnets?.length) throw new UsageError(`a ${driver} network needs --subnet (the subnet of the parent interface's LAN)`);
    if (request.ipv6 && !request.subnets.some((s) => s.includes(":"))) throw new UsageError(`--ipv6 on a ${driver} network needs an IPv6 --subnet`);
    // the host reaches no macvlan container, so no server of the host can answer them
    // podman keeps the parent as the network's interface, not among its options
    const { parent: _, ...options } = canonicalOptions(request.options ?? {});
    const spec = { ...common, args: { ...common.args, options, dns: false }, driver, master, mode, mtu, noDefaultRoute, metric, subnets: planSubnets(request, around, false) };
    // the reference macvlan plugin has no broadcast cutoff
    if (bclim !== undefined && plugin === "cni") throw new UsageError("--opt bclim needs ctrnet's own plugin: leave out -o plugin=cni");
    conflist = plugin === "cni" ? macvlanConflist(spec) : nativeVlanConflist({ ...spec, ...(bclim !== undefined ? { bclim } : {}) });
  }
  checkPlugins(name, conflist, around);
  return { name, conflist };
}
