// What `network inspect` and `network ls --format json` show, in podman 4's shape, read back from any
// conflist: ctrnet's own (creation time, labels and options in the list's `args`) or one written by hand
// or by another tool (time from the file). The id is the name's sha256, as podman's CNI backend derives it.
import * as v from "valibot";
import { type NetworkConfig, networkId } from "../drivers/cni/config.ts";
import { ctrnetDnsEnabled } from "../drivers/cni/conflist.ts";
import { staticRoutesOf } from "../drivers/static-routes.ts";
import { type Cidr, parseCidr } from "../ip/codec.ts";
import { isVlanPluginEntry } from "../schema/ctrnet-plugin.ts";
import { HostLocalIpam, type HostLocalRange, hostLocalRanges } from "../schema/cni.ts";

export interface LeaseRange {
  start_ip?: string;
  end_ip?: string;
}

export interface SubnetInfo {
  subnet: string;
  gateway?: string;
  lease_range?: LeaseRange;
}

/** podman's Route in `network inspect`. */
export interface RouteInfo {
  destination: string;
  gateway: string;
  metric?: number;
}

export interface NetworkInfo {
  name: string;
  /** 64 hex digits; `ls` shows the first 12. */
  id: string;
  /** The first plugin's type: bridge (ctrnet's own type too), macvlan, or whatever a hand-written file uses. */
  driver: string;
  /** The bridge for a bridge network, the parent interface for a macvlan one. */
  network_interface: string;
  /** RFC 3339. */
  created: string;
  subnets: SubnetInfo[];
  /** podman's `--route`s; absent when there are none, as podman leaves it out. */
  routes?: RouteInfo[];
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  /** podman's `--dns` of the network; absent when there are none. */
  network_dns_servers?: string[];
  labels: Record<string, string>;
  options: Record<string, string>;
  ipam_options: { driver: string };
}

const StringMap = v.record(v.string(), v.string());

const ListArgs = v.looseObject({
  ctrnet_created: v.optional(v.string()),
  podman_labels: v.optional(StringMap),
  podman_options: v.optional(StringMap),
  ctrnet_dns_servers: v.optional(v.array(v.string())),
});
type ListArgs = v.InferOutput<typeof ListArgs>;

function listArgs(config: NetworkConfig): ListArgs {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(config.bytes));
  } catch {
    return {};
  }
  const args = (json as { args?: unknown }).args;
  const parsed = v.safeParse(ListArgs, args);
  return parsed.success ? parsed.output : {};
}

function mainPlugin(config: NetworkConfig): Record<string, unknown> {
  return config.plugins[0] as Record<string, unknown>;
}

/** As podman's CNI backend reads it: a bridge that is nobody's gateway leads nowhere. */
export function networkInternal(config: NetworkConfig): boolean {
  const plugin = mainPlugin(config);
  // As podman's CNI backend reads it: a bridge that is nobody's gateway leads nowhere (macvlan/ipvlan never are).
  return (plugin.type === "bridge" || (plugin.type === "ctrnet" && !isVlanPluginEntry(plugin))) && plugin.isGateway !== true && plugin.ipMasq !== true;
}

/**
 * Whether the network's bridge holds its gateway addresses, where ctrnet's DNS server can listen: every
 * bridge but an internal one of the reference chain (or of a ctrnet plugin that predates its `internal`).
 */
export function gatewayOnBridge(config: NetworkConfig): boolean {
  return !networkInternal(config) || (mainPlugin(config).type === "ctrnet" && mainPlugin(config).internal === true);
}

/** Every range of the main plugin's host-local IPAM; the config parser has checked them already. */
/** Per configuration object (config.ts keeps one per unchanged file): a command asks several times. */
const rangesOf = new WeakMap<NetworkConfig, HostLocalRange[]>();

function ipamRanges(config: NetworkConfig): HostLocalRange[] {
  const known = rangesOf.get(config);
  if (known) return known;
  const ipam = config.plugins[0]!.ipam;
  const parsed = ipam?.type === "host-local" ? v.safeParse(HostLocalIpam, ipam) : undefined;
  const ranges = parsed?.success ? hostLocalRanges(parsed.output) : [];
  rangesOf.set(config, ranges);
  return ranges;
}

/** podman's `--route`s: the main plugin's ipam routes that are not default routes and name a gateway. */
export function networkRoutes(config: NetworkConfig): RouteInfo[] {
  return staticRoutesOf(config.plugins[0]?.ipam).map((r) => ({ destination: r.dst, gateway: r.gw, ...(r.metric !== undefined ? { metric: r.metric } : {}) }));
}

/** The servers of podman's `--dns` on the network (list args `ctrnet_dns_servers`). */
export function networkDnsServers(config: NetworkConfig): string[] {
  return listArgs(config).ctrnet_dns_servers ?? [];
}

/** Every subnet the network hands addresses out of, for overlap checks. */
export function networkSubnets(config: NetworkConfig): Cidr[] {
  return ipamRanges(config).map((r) => parseCidr(r.subnet)!);
}

/** The host interface a network owns: its bridge (the plugin's default is cni0), or none. */
export function networkBridge(config: NetworkConfig): string | undefined {
  const plugin = mainPlugin(config);
  // ctrnet's own plugin type is a bridge network too (src/drivers/bridge)
  if (plugin.type === "ctrnet") return typeof plugin.bridge === "string" && !isVlanPluginEntry(plugin) ? plugin.bridge : undefined;
  if (plugin.type !== "bridge") return undefined;
  return typeof plugin.bridge === "string" ? plugin.bridge : "cni0";
}

/** podman's driver name: ctrnet's own plugin serves bridge networks, or macvlan and ipvlan ones (its `driver`). */
function driverName(plugin: Record<string, unknown>): string {
  if (plugin.type !== "ctrnet") return String(plugin.type);
  return isVlanPluginEntry(plugin) ? String(plugin.driver) : "bridge";
}

function networkInterface(plugin: Record<string, unknown>): string {
  const bridge = plugin.type === "bridge" || (plugin.type === "ctrnet" && !isVlanPluginEntry(plugin));
  const name = bridge ? (plugin.bridge ?? (plugin.type === "bridge" ? "cni0" : undefined)) : plugin.master;
  return typeof name === "string" ? name : "";
}

function subnetInfo(range: HostLocalRange): SubnetInfo {
  const info: SubnetInfo = { subnet: range.subnet };
  if (range.gateway !== undefined) info.gateway = range.gateway;
  if (range.rangeStart !== undefined || range.rangeEnd !== undefined) {
    info.lease_range = {
      ...(range.rangeStart !== undefined ? { start_ip: range.rangeStart } : {}),
      ...(range.rangeEnd !== undefined ? { end_ip: range.rangeEnd } : {}),
    };
  }
  return info;
}

/** `fileTime` stands in for the creation time of a file ctrnet did not write. */
export function describeNetwork(config: NetworkConfig, fileTime: Date): NetworkInfo {
  const args = listArgs(config);
  const plugin = mainPlugin(config);
  const ipam = plugin.ipam as { type?: string } | undefined;
  const subnets = ipamRanges(config).map(subnetInfo);
  const routes = networkRoutes(config);
  const dnsServers = args.ctrnet_dns_servers ?? [];
  return {
    name: config.name,
    id: networkId(config.name),
    driver: driverName(plugin),
    network_interface: networkInterface(plugin),
    created: args.ctrnet_created ?? fileTime.toISOString(),
    subnets,
    ...(routes.length ? { routes } : {}),
    ipv6_enabled: subnets.some((s) => s.subnet.includes(":")),
    internal: networkInternal(config),
    dns_enabled: ctrnetDnsEnabled(config.bytes) || config.plugins.some((p) => p.type === "dnsname"),
    ...(dnsServers.length ? { network_dns_servers: dnsServers } : {}),
    labels: { ...args.podman_labels },
    options: { ...args.podman_options },
    // no ipam section: podman's none (its CNI backend reads such a conflist so)
    ipam_options: { driver: ipam?.type ?? "none" },
  };
}
