// The conflist for `network create`, decided from the request and from what already exists (networks,
// host routes and links, installed plugins). Pure, so every rule and message is testable without root;
// every check happens here, before anything is written.
import { type ConflistArgs, bridgeConflist, macvlanConflist } from "../drivers/cni/conflist.ts";
import { validateIfName } from "../drivers/cni/ifname.ts";
import { UsageError } from "../errors.ts";
import { validateName } from "../names.ts";
import { type Cidr, formatCidr } from "../ip/codec.ts";
import { parseSubnet, subnetsOverlap } from "../schema/ip.ts";
import { pickFreeName, pickFreeSubnet } from "./free.ts";
import { newNetworkId } from "./model.ts";
import { type CreateNetworkRequest, parseBridgeOptions, parseDriver, parseMacvlanOptions } from "./options.ts";

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
  hostLinks: ReadonlySet<string>;
  /** Plugin types found in the plugin path. */
  plugins: ReadonlySet<string>;
  /** For messages about a missing plugin. */
  pluginPath: readonly string[];
  ipamDataDir: string;
  now: Date;
}

export interface NetworkPlan {
  name: string;
  conflist: Record<string, unknown>;
}

/** The prefix of picked bridge names; N = 0 is the default network's. */
export const BRIDGE_PREFIX = "ctrnet";
/** dnsname answers for containers under this domain, as podman's dns.podman. */
export const DNS_DOMAIN = "dns.ctrnet";

function planName(request: CreateNetworkRequest, around: Surroundings): string {
  const names = new Set(around.networks.map((n) => n.name));
  if (request.name === undefined) return pickFreeName(BRIDGE_PREFIX, names);
  validateName("network name", request.name);
  if (names.has(request.name)) throw new UsageError(`network name ${request.name} already used: network already exists`);
  return request.name;
}

function checkNoOverlap(subnets: readonly Cidr[], around: Surroundings): void {
  for (const subnet of subnets) {
    for (const other of around.networks) {
      const clash = other.subnets.find((s) => subnetsOverlap(s, subnet));
      if (clash) throw new UsageError(`subnet ${formatCidr(subnet)} overlaps subnet ${formatCidr(clash)} of network ${other.name}`);
    }
  }
}

/** The given subnets, plus picked ones: IPv4 when none is given, IPv6 when asked for and none is given. */
function planSubnets(request: CreateNetworkRequest, around: Surroundings, pick: boolean): string[] {
  const given = (request.subnets ?? []).map((s) => parseSubnet(s));
  checkNoOverlap(given, around);
  if (given.length === 0) {
    if (request.gateway !== undefined) throw new UsageError("--gateway needs --subnet");
    if (request.ipRange !== undefined) throw new UsageError("--ip-range needs --subnet");
  }
  const out = [...given];
  const taken = [...around.networks.flatMap((n) => n.subnets), ...around.hostRoutes];
  if (pick && given.length === 0) out.push(pickFreeSubnet(4, taken));
  if (pick && request.ipv6 && !given.some((s) => s.address.length === 16)) out.push(pickFreeSubnet(6, taken));
  return out.map(formatCidr);
}

function planBridgeName(request: CreateNetworkRequest, around: Surroundings): string {
  const used = new Map(around.networks.flatMap((n) => (n.bridge === undefined ? [] : [[n.bridge, n.name] as const])));
  if (request.interfaceName === undefined) return pickFreeName(BRIDGE_PREFIX, new Set([...used.keys(), ...around.hostLinks]));
  const bridge = validateIfName("bridge name", request.interfaceName);
  const owner = used.get(bridge);
  if (owner !== undefined) throw new UsageError(`bridge name ${bridge} already used by network ${owner}`);
  return bridge;
}

function planParent(request: CreateNetworkRequest, parent: string | undefined, around: Surroundings): string {
  if (parent !== undefined && request.interfaceName !== undefined && parent !== request.interfaceName) {
    throw new UsageError(`--opt parent=${parent} and --interface-name ${request.interfaceName} disagree: give one`);
  }
  const name = parent ?? request.interfaceName;
  if (name === undefined) throw new UsageError("a macvlan network needs its parent interface: --opt parent=IFACE");
  validateIfName("parent interface name", name);
  if (!around.hostLinks.has(name)) throw new UsageError(`parent interface ${name} of the macvlan network does not exist`);
  return name;
}

function checkPlugins(name: string, conflist: Record<string, unknown>, around: Surroundings): void {
  for (const plugin of conflist.plugins as { type: string; ipam?: { type: string } }[]) {
    for (const type of [plugin.type, plugin.ipam?.type]) {
      if (type !== undefined && !around.plugins.has(type)) {
        throw new UsageError(`plugin binary "${type}" needed by network ${name} not found in ${around.pluginPath.join(":")}`);
      }
    }
  }
}

function conflistArgs(request: CreateNetworkRequest, around: Surroundings, name: string): ConflistArgs {
  return { id: newNetworkId(name, around.now), created: around.now.toISOString(), labels: request.labels ?? {}, options: request.options ?? {} };
}

export function planNetwork(request: CreateNetworkRequest, around: Surroundings): NetworkPlan {
  const name = planName(request, around);
  const driver = parseDriver(request.driver);
  const common = {
    name,
    gateway: request.gateway,
    ipRange: request.ipRange,
    ipamDataDir: around.ipamDataDir,
    args: conflistArgs(request, around, name),
  };
  let conflist: Record<string, unknown>;
  if (driver === "bridge") {
    const { mtu, vlan } = parseBridgeOptions(request.options ?? {});
    const bridge = planBridgeName(request, around);
    const dns = !request.disableDns && around.plugins.has("dnsname");
    const subnets = planSubnets(request, around, true);
    conflist = bridgeConflist({ ...common, bridge, subnets, mtu, vlan, internal: request.internal, ...(dns ? { dnsDomain: DNS_DOMAIN } : {}) });
  } else {
    if (request.internal) throw new UsageError("--internal is supported by the bridge driver only");
    const { mtu, mode, parent } = parseMacvlanOptions(request.options ?? {});
    const master = planParent(request, parent, around);
    // The containers share the parent's LAN, whose addressing only the user knows: nothing to pick.
    if (!request.subnets?.length) throw new UsageError("a macvlan network needs --subnet (the subnet of the parent interface's LAN)");
    if (request.ipv6 && !request.subnets.some((s) => s.includes(":"))) throw new UsageError("--ipv6 on a macvlan network needs an IPv6 --subnet");
    conflist = macvlanConflist({ ...common, master, mode, mtu, subnets: planSubnets(request, around, false) });
  }
  checkPlugins(name, conflist, around);
  return { name, conflist };
}
