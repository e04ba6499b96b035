// What `network inspect` and `network ls --format json` show, in podman 4's shape, read back from any
// conflist: ctrnet's own (id, creation time, labels and options in the list's `args`) or one written by
// hand or by another tool (id derived from the name as podman's CNI backend does, time from the file).
import * as v from "valibot";
import type { NetworkConfig } from "../drivers/cni/config.ts";
import { type Cidr, parseCidr } from "../ip/codec.ts";

export interface LeaseRange {
  start_ip?: string;
  end_ip?: string;
}

export interface SubnetInfo {
  subnet: string;
  gateway?: string;
  lease_range?: LeaseRange;
}

export interface NetworkInfo {
  name: string;
  /** 64 hex digits; `ls` shows the first 12. */
  id: string;
  /** The first plugin's type: bridge, macvlan, or whatever a hand-written file uses. */
  driver: string;
  /** The bridge for a bridge network, the parent interface for a macvlan one. */
  network_interface: string;
  /** RFC 3339. */
  created: string;
  subnets: SubnetInfo[];
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  ipam_options: { driver: string };
}

const StringMap = v.record(v.string(), v.string());

const ListArgs = v.looseObject({
  ctrnet_id: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
  ctrnet_created: v.optional(v.string()),
  podman_labels: v.optional(StringMap),
  podman_options: v.optional(StringMap),
});
type ListArgs = v.InferOutput<typeof ListArgs>;

const HostLocalRange = v.looseObject({
  subnet: v.string(),
  gateway: v.optional(v.string()),
  rangeStart: v.optional(v.string()),
  rangeEnd: v.optional(v.string()),
});
type HostLocalRange = v.InferOutput<typeof HostLocalRange>;

/** host-local's two spellings: `ranges` (range sets), or one range's keys directly in `ipam`. */
const HostLocalIpam = v.union([
  v.looseObject({ ranges: v.array(v.array(HostLocalRange)) }),
  v.pipe(
    HostLocalRange,
    v.transform((range) => ({ ranges: [[range]] })),
  ),
]);

/** The id of a network ctrnet did not create: podman's CNI backend derives it from the name the same way. */
export function nameDerivedId(name: string): string {
  return new Bun.CryptoHasher("sha256").update(name).digest("hex");
}

/** A new network's id: unique even for a name used before, so a re-created network is a different one. */
export function newNetworkId(name: string, created: Date): string {
  return new Bun.CryptoHasher("sha256").update(`${name}\0${created.toISOString()}\0${crypto.randomUUID()}`).digest("hex");
}

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

function hostLocalRanges(config: NetworkConfig): HostLocalRange[] {
  const ipam = mainPlugin(config).ipam as Record<string, unknown> | undefined;
  if (ipam?.type !== "host-local") return [];
  const parsed = v.safeParse(HostLocalIpam, ipam);
  return parsed.success ? parsed.output.ranges.flat() : [];
}

/** Every subnet the network hands addresses out of, for overlap checks; unparsable ones are left out. */
export function networkSubnets(config: NetworkConfig): Cidr[] {
  return hostLocalRanges(config)
    .map((r) => parseCidr(r.subnet))
    .filter((c): c is Cidr => c !== null);
}

/** The host interface a network owns: its bridge (the plugin's default is cni0), or none. */
export function networkBridge(config: NetworkConfig): string | undefined {
  const plugin = mainPlugin(config);
  if (plugin.type !== "bridge") return undefined;
  return typeof plugin.bridge === "string" ? plugin.bridge : "cni0";
}

function networkInterface(plugin: Record<string, unknown>): string {
  const name = plugin.type === "bridge" ? (plugin.bridge ?? "cni0") : plugin.master;
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
  const subnets = hostLocalRanges(config).map(subnetInfo);
  return {
    name: config.name,
    id: args.ctrnet_id ?? nameDerivedId(config.name),
    driver: config.plugins[0]!.type,
    network_interface: networkInterface(plugin),
    created: args.ctrnet_created ?? fileTime.toISOString(),
    subnets,
    ipv6_enabled: subnets.some((s) => s.subnet.includes(":")),
    // As podman's CNI backend reads it: a bridge that is nobody's gateway leads nowhere.
    internal: plugin.type === "bridge" && plugin.isGateway !== true && plugin.ipMasq !== true,
    dns_enabled: config.plugins.some((p) => p.type === "dnsname"),
    labels: { ...args.podman_labels },
    options: { ...args.podman_options },
    ipam_options: { driver: ipam?.type ?? "" },
  };
}
