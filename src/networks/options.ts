// What `network create` is asked for, and the checks on it that need nothing but the request itself.
import { IPVLAN_MODES, MACVLAN_MODES, type VlanMode } from "../drivers/cni/conflist.ts";
import { UsageError } from "../errors.ts";
import { formatCidr, formatIP, parseCidr, parseIP } from "../ip/codec.ts";
import { maskAddress } from "../schema/ip.ts";
import type { StaticRoute } from "../drivers/cni/conflist.ts";
import { validateIfName } from "../drivers/cni/ifname.ts";

export const DRIVERS = ["bridge", "macvlan", "ipvlan"] as const;
export type Driver = (typeof DRIVERS)[number];

export interface CreateNetworkRequest {
  /** Picked (ctrnet1, ctrnet2, …) when absent. */
  name?: string;
  /** Default bridge. */
  driver?: string;
  /** IPv4 and/or IPv6; a free IPv4 /24 (and an IPv6 /64 with `ipv6`) is picked when none is given. */
  subnets?: readonly string[];
  /** Paired with `subnets` by position, as podman pairs repeated `--gateway` and `--subnet`. */
  gateways?: readonly string[];
  /** Paired with `subnets` by position, as `gateways`. */
  ipRanges?: readonly string[];
  /** Dual stack: adds a picked IPv4 subnet and a random IPv6 /64 where the family has none given. */
  ipv6?: boolean;
  internal?: boolean;
  disableDns?: boolean;
  /** Driver options, as `--opt`: bridge takes mtu and vlan; macvlan takes parent, mode and mtu. */
  options?: Readonly<Record<string, string>>;
  /** The bridge's name, or for macvlan the parent interface (like `--opt parent=`). */
  interfaceName?: string;
  labels?: Readonly<Record<string, string>>;
  /** podman's `--route DEST,GATEWAY[,METRIC]`, as given; parsed by parseRoute. */
  routes?: readonly string[];
  /** podman's `--dns IP`: the network's own DNS servers, which its containers' resolv.conf names. */
  dnsServers?: readonly string[];
  /** podman's `--ipam-driver`: host-local (the default with subnets), or dhcp (macvlan and ipvlan; their default without). */
  ipamDriver?: string;
}

export interface BridgeOptions {
  mtu?: number;
  vlan?: number;
  /**
   * `ctrnet` (the default): one plugin of ctrnet's own type (bridge, addresses, nftables ports in-process);
   * `cni`: the reference chain bridge + portmap + firewall + tuning.
   */
  plugin?: "ctrnet" | "cni";
  /** podman's `isolate`: no traffic to other isolated (`strict`: any other) networks; ctrnet's plugin only. */
  isolate?: "true" | "strict";
  /** podman's `-o no_default_route=true`: containers get no default route through this network. */
  noDefaultRoute?: boolean;
  /** podman's `metric`: the metric of the containers' default routes through this network. */
  metric?: number;
  /** podman's `com.docker.network.bridge.name`: the bridge's name, as --interface-name. */
  bridgeName?: string;
  /** podman's `vrf`: the bridge, when made, is enslaved to this VRF device. */
  vrf?: string;
  /**
   * podman 5's `mode=unmanaged`: the bridge is the host's, used as it is (never made, given addresses,
   * changed or deleted), with no firewall rule: no masquerade, no published port.
   */
  unmanaged?: boolean;
}

export interface MacvlanOptions {
  mtu?: number;
  parent?: string;
  mode?: VlanMode;
  /** `ctrnet` (the default): ctrnet's own plugin makes the link; `cni`: the reference macvlan/ipvlan plugin. */
  plugin?: "ctrnet" | "cni";
  noDefaultRoute?: boolean;
  /** podman's `metric`: the metric of the containers' default routes through this network. */
  metric?: number;
  /** podman's `bclim` (macvlan only): the broadcast queue cutoff of the containers' links. */
  bclim?: number;
}

const ROUTE_FORMAT = "Format: --route <destination in CIDR>,<gateway>,<metric (optional)>";

/**
 * One `--route DEST,GATEWAY[,METRIC]`, with podman's words (`invalid route destination`, `invalid route
 * gateway`, `invalid route metric`, `invalid route: …`); a destination must be a network address, and the
 * gateway of its family. Whether the gateway lies in a subnet of the network is the conflist's check.
 */
export function parseRoute(text: string): StaticRoute {
  const parts = text.split(",");
  if (parts.length !== 2 && parts.length !== 3) throw new UsageError(`invalid route: ${text}: ${ROUTE_FORMAT}`);
  const [dstText, gwText, metricText] = parts as [string, string, string?];
  const dst = parseCidr(dstText);
  if (dst === null) throw new UsageError(`invalid route destination ${dstText}`);
  const network = maskAddress(dst.address, dst.prefixLength);
  if (formatIP(network) !== formatIP(dst.address)) {
    throw new UsageError(`invalid route destination ${dstText}: route destination invalid: host bits are set (the network is ${formatCidr({ address: network, prefixLength: dst.prefixLength })})`);
  }
  const gw = parseIP(gwText);
  if (gw === null) throw new UsageError(`invalid route gateway ${gwText}`);
  if (gw.length !== dst.address.length) throw new UsageError(`invalid route ${text}: gateway ${gwText} and destination ${dstText} are of different IP versions`);
  let metric: number | undefined;
  if (metricText !== undefined) {
    if (!/^[0-9]{1,10}$/.test(metricText) || Number(metricText) > 0xffffffff) throw new UsageError(`invalid route metric ${metricText}`);
    metric = Number(metricText);
  }
  return { destination: formatCidr(dst), gateway: formatIP(gw), ...(metric !== undefined ? { metric } : {}) };
}

/** The options as the network keeps them: `no_default_route` and `isolate` as `true` or `false` (or `strict`), as podman stores them. */
export function canonicalOptions(options: Readonly<Record<string, string>>): Record<string, string> {
  const out = { ...options };
  if (out.no_default_route !== undefined) out.no_default_route = String(boolOption("no_default_route", out.no_default_route));
  if (out.isolate !== undefined) out.isolate = parseIsolate(out.isolate);
  return out;
}

/** containers/common's ParseIsolate: strict, or a boolean as Go reads one (`true` or `false`); "" is false. */
function parseIsolate(value: string): "true" | "false" | "strict" {
  if (value === "") return "false";
  if (value === "strict") return "strict";
  const b = goBool(value);
  if (b === undefined) throw new UsageError(`invalid --opt isolate=${value}: use true, false or strict`);
  return b ? "true" : "false";
}

/** A boolean as Go's strconv.ParseBool reads it; undefined for anything else. */
function goBool(value: string): boolean | undefined {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(value)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(value)) return false;
  return undefined;
}

/** podman's `no_default_route` option, read as Go's strconv.ParseBool reads it. */
function boolOption(key: string, value: string): boolean {
  const b = goBool(value);
  if (b !== undefined) return b;
  throw new UsageError(`invalid --opt ${key}=${value}: use true or false`);
}

/** `--label k=v`, `--opt k=v`: a key alone means an empty value, as in podman; a key given twice is refused. */
export function parseKeyValues(flag: string, items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq);
    if (key === "") throw new UsageError(`invalid ${flag} "${item}": expected KEY=VALUE`);
    if (key in out) throw new UsageError(`${flag} ${key} is given twice`);
    out[key] = eq < 0 ? "" : item.slice(eq + 1);
  }
  return out;
}

export function parseDriver(driver: string | undefined): Driver {
  const d = driver ?? "bridge";
  // podman's words: netavark looks a driver it does not have up as a plugin of that name
  if (!(DRIVERS as readonly string[]).includes(d)) throw new UsageError(`failed to find driver or plugin "${d}": use ${DRIVERS.join(", ")}`);
  return d as Driver;
}

function integerOption(key: string, value: string): number {
  if (!/^\d{1,6}$/.test(value)) throw new UsageError(`invalid --opt ${key}=${value}: expected an integer`);
  return Number(value);
}

/** podman's strconv.ParseUint(value, 10, 32) of `metric`. */
function metricOption(value: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) throw new UsageError(`invalid --opt metric=${value}: expected an integer from 0 to 4294967295`);
  return Number(value);
}

/** containers/common's ParseMTU: empty or 0 is the default (the kernel's, or the default route interface's). */
function mtuOption(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const mtu = integerOption("mtu", value);
  return mtu === 0 ? undefined : mtu;
}

function checkKeys(driver: Driver, options: Readonly<Record<string, string>>, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    // podman's words (netavark's), then the options there are
    if (!allowed.includes(key)) throw new UsageError(`unsupported ${driver} network option: ${key} (use ${allowed.join(", ")})`);
  }
}

export function parseBridgeOptions(options: Readonly<Record<string, string>>): BridgeOptions {
  checkKeys("bridge", options, ["mtu", "vlan", "plugin", "isolate", "no_default_route", "metric", "vrf", "mode", BRIDGE_NAME_OPTION, BRIDGE_MTU_OPTION]);
  const { plugin, vrf, mode } = options;
  if (plugin !== undefined && plugin !== "ctrnet" && plugin !== "cni") throw new UsageError(`invalid --opt plugin=${plugin}: use ctrnet or cni`);
  // podman's values: strict, or a boolean (false: no isolation, as without the option)
  const isolation = options.isolate === undefined ? undefined : parseIsolate(options.isolate);
  const isolate = isolation === "false" ? undefined : isolation;
  if (isolate !== undefined && plugin === "cni") throw new UsageError("--opt isolate needs ctrnet's own plugin, not --opt plugin=cni: the reference plugins cannot isolate networks");
  // podman's words (containers/common's netavark networkCreate)
  if (vrf !== undefined && vrf === "") throw new UsageError("invalid vrf name");
  if (vrf !== undefined) validateIfName("vrf name", vrf);
  if (mode !== undefined && mode !== "managed" && mode !== "unmanaged") throw new UsageError(`unknown bridge mode ${JSON.stringify(mode)} (use managed or unmanaged)`);
  if (vrf !== undefined && plugin === "cni") throw new UsageError("--opt vrf needs ctrnet's own plugin, not --opt plugin=cni: the reference bridge plugin cannot enslave its bridge to a VRF");
  if (mode === "unmanaged" && plugin === "cni") throw new UsageError("--opt mode=unmanaged needs ctrnet's own plugin, not --opt plugin=cni: the reference bridge plugin configures the bridge it is given");
  const mtu = options.mtu ?? options[BRIDGE_MTU_OPTION];
  return {
    ...(mtuOption(mtu) !== undefined ? { mtu: mtuOption(mtu) } : {}),
    ...(options.vlan !== undefined && options.vlan !== "" ? { vlan: integerOption("vlan", options.vlan) } : {}),
    ...(plugin !== undefined ? { plugin } : {}),
    ...(isolate !== undefined ? { isolate } : {}),
    ...(options.no_default_route !== undefined ? { noDefaultRoute: boolOption("no_default_route", options.no_default_route) } : {}),
    ...(options.metric !== undefined ? { metric: metricOption(options.metric) } : {}),
    ...(options[BRIDGE_NAME_OPTION] !== undefined ? { bridgeName: options[BRIDGE_NAME_OPTION] } : {}),
    ...(vrf !== undefined ? { vrf } : {}),
    ...(mode === "unmanaged" ? { unmanaged: true } : {}),
  };
}

/** podman's (docker's) spelling of --interface-name for a bridge network. */
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";
/** podman's (docker's) spelling of -o mtu for a bridge network. */
export const BRIDGE_MTU_OPTION = "com.docker.network.driver.mtu";

/**
 * A bridge network's options as podman keeps them (containers/common MapDockerBridgeDriverOptions): docker's
 * MTU as `mtu`, docker's bridge name as the network's interface, not an option.
 */
export function bridgeStoredOptions(options: Readonly<Record<string, string>>): Record<string, string> {
  const { [BRIDGE_NAME_OPTION]: _name, [BRIDGE_MTU_OPTION]: mtu, ...rest } = options;
  return mtu !== undefined && rest.mtu === undefined ? { ...rest, mtu } : rest;
}

/** podman's macvlan and ipvlan options: parent, mode (each driver's own), mtu; and ctrnet's plugin choice. */
export function parseMacvlanOptions(options: Readonly<Record<string, string>>, driver: "macvlan" | "ipvlan" = "macvlan"): MacvlanOptions {
  // bclim is macvlan's only, as podman's (netavark: "unsupported ipvlan network option bclim")
  checkKeys(driver, options, ["parent", "mode", "mtu", "plugin", "no_default_route", "metric", ...(driver === "macvlan" ? ["bclim"] : [])]);
  const { mode, parent, plugin } = options;
  const modes: readonly string[] = driver === "macvlan" ? MACVLAN_MODES : IPVLAN_MODES;
  if (mode !== undefined && !modes.includes(mode)) throw new UsageError(`invalid --opt mode=${mode} for the ${driver} driver: use one of ${modes.join(", ")}`);
  if (plugin !== undefined && plugin !== "ctrnet" && plugin !== "cni") throw new UsageError(`invalid --opt plugin=${plugin}: use ctrnet or cni`);
  return {
    ...(mtuOption(options.mtu) !== undefined ? { mtu: mtuOption(options.mtu) } : {}),
    ...(parent !== undefined ? { parent } : {}),
    ...(mode !== undefined ? { mode: mode as VlanMode } : {}),
    ...(plugin !== undefined ? { plugin } : {}),
    ...(options.no_default_route !== undefined ? { noDefaultRoute: boolOption("no_default_route", options.no_default_route) } : {}),
    ...(options.metric !== undefined ? { metric: metricOption(options.metric) } : {}),
    ...(options.bclim !== undefined ? { bclim: int32Option("bclim", options.bclim) } : {}),
  };
}

/** Go's strconv.ParseInt(value, 10, 32), as podman parses bclim. */
function int32Option(name: string, value: string): number {
  const n = /^[+-]?[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new UsageError(`failed to parse "${name}" option: strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
  return n;
}
