// One internal form for CNI results of every spec version, and the way back to the wire form of a given
// version (plugins receive `prevResult` in the network's cniVersion).
import * as v from "valibot";
import { CtrnetError } from "../../errors.ts";
import { describeIssues } from "../../schema/issues.ts";
import { cniResultSchemas, type ResultCurrent } from "../../schema/cni-result.ts";
import { atLeast } from "./version.ts";
import { ipFamily } from "../../ip/codec.ts";
import type { NetworkStatus } from "../../schema/network-status.ts";

export interface CniInterface {
  name: string;
  mac?: string;
  /** The netns path for interfaces inside the container; absent for host-side interfaces. */
  sandbox?: string;
  mtu?: number;
  socketPath?: string;
  pciID?: string;
}

export interface CniIp {
  /** With prefix length: `10.88.0.2/16`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniResult {
  /** The version the result was produced in. */
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns: CniDns;
}

export type WireResult = Record<string, unknown>;

/** Copies the listed keys that are present, so optional fields stay absent rather than `undefined`. */
function pick<T extends object, K extends keyof T>(from: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (from[k] !== undefined && from[k] !== null) out[k] = from[k];
  return out;
}

const DNS_KEYS = ["nameservers", "domain", "search", "options"] as const;
const ROUTE_KEYS_1_0 = ["dst", "gw"] as const;
const ROUTE_KEYS_1_1 = [...ROUTE_KEYS_1_0, "mtu", "advmss", "priority", "table", "scope"] as const;
const INTERFACE_KEYS_1_0 = ["name", "mac", "sandbox"] as const;
const INTERFACE_KEYS_1_1 = [...INTERFACE_KEYS_1_0, "mtu", "socketPath", "pciID"] as const;

function invalid(issues: readonly v.BaseIssue<unknown>[]): never {
  throw new CtrnetError(`invalid CNI result: ${describeIssues(issues)}`);
}

/**
 * The results ctrnet's own plugin gave in this process (exec.ts, runOwnPlugin): made by its typed code from
 * a configuration checked on the way in, not read from outside, so parseResult does not check them again
 * (that was about 0.1 ms of every native attach). What a plugin process printed is always checked.
 */
const ownResults = new WeakSet<object>();

/** Marks the JSON of an in-process plugin call as ctrnet's own result (see ownResults); returns it. */
export function ownResult<T>(json: T): T {
  if (typeof json === "object" && json !== null) ownResults.add(json);
  return json;
}

/** Reads a result of any spec version; throws a CtrnetError naming the offending field. */
export function parseResult(json: unknown): CniResult {
  const version =
    typeof json === "object" && json !== null && "cniVersion" in json && typeof json.cniVersion === "string"
      ? json.cniVersion
      : "0.1.0";
  if (!atLeast(version, "0.3.0")) {
    const parsed = v.safeParse(cniResultSchemas().Result020, json);
    if (!parsed.success) invalid(parsed.issues);
    const r = parsed.output;
    const ips: CniIp[] = [];
    const routes: CniRoute[] = [];
    for (const cfg of [r.ip4, r.ip6]) {
      if (!cfg) continue;
      ips.push(pick({ address: cfg.ip, gateway: cfg.gateway }, ["address", "gateway"]));
      for (const route of cfg.routes ?? []) routes.push(pick(route, ROUTE_KEYS_1_0));
    }
    return { cniVersion: version, interfaces: [], ips, routes, dns: pick(r.dns ?? {}, DNS_KEYS) };
  }
  let r: ResultCurrent;
  if (ownResults.has(json as object)) r = json as ResultCurrent;
  else {
    const parsed = v.safeParse(cniResultSchemas().ResultCurrent, json);
    if (!parsed.success) invalid(parsed.issues);
    r = parsed.output;
  }
  return {
    cniVersion: version,
    interfaces: (r.interfaces ?? []).map((i) => pick(i, INTERFACE_KEYS_1_1)),
    ips: (r.ips ?? []).map((ip) => pick(ip, ["address", "gateway", "interface"])),
    routes: (r.routes ?? []).map((route) => pick(route, ROUTE_KEYS_1_1)),
    dns: pick(r.dns ?? {}, DNS_KEYS),
  };
}

function family(cidrOrIp: string): 4 | 6 {
  return ipFamily(cidrOrIp.split("/")[0] ?? "") === 6 ? 6 : 4;
}

/** 0.1.0/0.2.0 hold one address per family; like libcni, the first of each wins and routes follow their family. */
function toWire020(result: CniResult, version: string): WireResult {
  const out: WireResult = { cniVersion: version };
  for (const fam of [4, 6] as const) {
    const ip = result.ips.find((i) => family(i.address) === fam);
    if (!ip) continue;
    const routes = result.routes.filter((r) => family(r.dst) === fam).map((r) => pick(r, ROUTE_KEYS_1_0));
    out[`ip${fam}`] = {
      ip: ip.address,
      ...pick(ip, ["gateway"]),
      ...(routes.length ? { routes } : {}),
    };
  }
  out.dns = pick(result.dns, DNS_KEYS);
  return out;
}

/** The result as a plugin of `version` would print it (field layout of that version; empty lists left out). */
export function toWire(result: CniResult, version: string): WireResult {
  if (!atLeast(version, "0.3.0")) return toWire020(result, version);
  const v11 = atLeast(version, "1.1.0");
  const withIpVersion = !atLeast(version, "1.0.0");
  const out: WireResult = { cniVersion: version };
  if (result.interfaces.length) {
    out.interfaces = result.interfaces.map((i) => pick(i, v11 ? INTERFACE_KEYS_1_1 : INTERFACE_KEYS_1_0));
  }
  if (result.ips.length) {
    out.ips = result.ips.map((ip) => ({
      ...(withIpVersion ? { version: String(family(ip.address)) } : {}),
      ...pick(ip, ["address", "gateway", "interface"]),
    }));
  }
  if (result.routes.length) out.routes = result.routes.map((r) => pick(r, v11 ? ROUTE_KEYS_1_1 : ROUTE_KEYS_1_0));
  out.dns = pick(result.dns, DNS_KEYS);
  return out;
}

/**
 * A stored status as the CNI result it came from, near enough for a DEL's prevResult: the container's
 * interfaces (in the netns at netnsPath, if any) and their addresses, routes and DNS.
 */
export function resultFromStatus(status: NetworkStatus, cniVersion: string, netnsPath: string | undefined): CniResult {
  const interfaces: CniInterface[] = status.interfaces.map((i) => ({ name: i.name, ...(i.mac ? { mac: i.mac } : {}), ...(netnsPath ? { sandbox: netnsPath } : {}) }));
  const ips: CniIp[] = status.interfaces.flatMap((i, index) => i.addresses.map((a) => ({ address: a.address, ...(a.gateway ? { gateway: a.gateway } : {}), interface: index })));
  const routes: CniRoute[] = status.routes.map((r) => ({ dst: r.destination, ...(r.gateway ? { gw: r.gateway } : {}) }));
  const { nameservers, domain, search, options } = status.dns;
  const dns: CniDns = {
    ...(nameservers.length ? { nameservers } : {}),
    ...(domain ? { domain } : {}),
    ...(search.length ? { search } : {}),
    ...(options.length ? { options } : {}),
  };
  return { cniVersion, interfaces, ips, routes, dns };
}
