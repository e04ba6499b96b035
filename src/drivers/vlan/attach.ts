// One container interface on a macvlan or ipvlan network, as netavark's vlan driver makes it, with no
// process spawned: addresses from the shared host-local table, the link made on the parent directly in the
// container's netns over rtnetlink (its MTU and mode, the MAC asked for), the addresses without duplicate
// address detection and default routes through the gateways. Nothing on the host changes beyond the lease
// files: no bridge, no firewall, no published port. Setup undoes its own partial work before it throws;
// teardown keeps going past errors and returns them all.
import { addStaticRoutes, defaultRouteGateways, defaultRouteMetric, type IpamStaticRoute, staticRoutesOf } from "../static-routes.ts";
import { UsageError } from "../../errors.ts";
import { isNetlinkError, Netlink } from "../../netlink/index.ts";
import type { IpvlanMode, MacvlanMode } from "../../netlink/links.ts";
import { writeSysctl } from "../../netns/index.ts";
import { crashPoint } from "../../process/crash-point.ts";
import { type CtrnetVlanPluginConfig, IPVLAN_MODES, MACVLAN_MODES } from "../../schema/ctrnet-plugin.ts";
import { allocate, type IpamConfig, parseIpamConfig, release } from "../ipam/index.ts";

/** A macvlan or ipvlan network as its conflist describes it. */
export interface VlanNetwork {
  name: string;
  plugin: CtrnetVlanPluginConfig;
}

export interface VlanAttachRequest {
  network: VlanNetwork;
  containerId: string;
  ifname: string;
  /** An open fd of the container's netns. */
  netnsFd: number;
  /** Where the parent interface is: this process's netns when absent. */
  hostNetnsFd?: number;
  /** host-local's dataDir when the ipam section names none. */
  dataDir: string;
  /** macvlan only: an ipvlan link has its parent's MAC. */
  mac?: string;
  /** Addresses asked for, one per family at most (`--ip`, the `ips` capability). */
  ips?: readonly string[];
}

export interface VlanAttachResult {
  ifname: string;
  mac: string;
  /** CIDRs with their gateways. */
  addresses: { address: string; gateway: string }[];
  /** Default routes set in the container. */
  gateways: string[];
  /** The network's static routes (podman's `--route`) set in the container. */
  routes?: IpamStaticRoute[];
}

export interface VlanDetachRequest {
  network: VlanNetwork;
  containerId: string;
  ifname: string;
  /** The container's netns; absent or gone: the link went with it, only the leases are left to release. */
  netnsFd?: number;
  dataDir: string;
  /** The addresses setup gave it, so only their lease files are read. */
  addresses?: readonly string[];
}

const isV6 = (cidrOrIp: string): boolean => cidrOrIp.includes(":");

export function vlanIpamOf(network: VlanNetwork, dataDir: string): IpamConfig & { dataDir: string } {
  const ipam = parseIpamConfig(network.name, network.plugin.ipam);
  return { ...ipam, dataDir: ipam.dataDir ?? dataDir };
}

/** The interface of the host's default route (IPv4 first), for a network that names no parent. */
function defaultRouteInterface(host: Netlink, network: VlanNetwork): number {
  for (const family of [4, 6] as const) {
    const route = host.routes({ family }).find((r) => r.dst === "default" && r.oif !== undefined);
    if (route) return route.oif!;
  }
  throw new UsageError(`${network.plugin.driver} network ${network.name} names no parent interface and the host has no default route: create it with -o parent=IFACE`);
}

function parentIndex(host: Netlink, network: VlanNetwork, rootlessNetns: boolean): number {
  const { driver, master } = network.plugin;
  // a rootless user's containers hang off the rootless netns, where none of the host's interfaces is
  if (rootlessNetns) throw new UsageError(`${driver} network ${network.name} needs root: its parent is an interface of the host, out of a rootless user's reach`);
  if (master === undefined) return defaultRouteInterface(host, network);
  try {
    return host.link(master).index;
  } catch (err) {
    if (!isNetlinkError(err, "ENODEV")) throw err;
    throw new UsageError(`parent interface ${master} of ${driver} network ${network.name} does not exist`);
  }
}

function makeLink(host: Netlink, req: VlanAttachRequest, parent: number): void {
  const p = req.network.plugin;
  const common = { name: req.ifname, parent, mtu: p.mtu, netnsFd: req.netnsFd };
  try {
    if (p.driver === "macvlan") {
      host.linkAdd({ kind: "macvlan", ...common, mode: (p.mode ?? "bridge") as MacvlanMode, ...(req.mac ? { mac: req.mac } : {}), ...(p.bclim !== undefined ? { bcCutoff: p.bclim } : {}) });
    } else {
      host.linkAdd({ kind: "ipvlan", ...common, mode: (p.mode ?? "l2") as IpvlanMode });
    }
  } catch (err) {
    // the kernel answers an unknown link kind with EOPNOTSUPP ("Unknown device type")
    if (isNetlinkError(err, "EOPNOTSUPP")) throw new Error(`this kernel cannot make ${p.driver} links (network ${req.network.name}): load its ${p.driver} module (CONFIG_${p.driver.toUpperCase()})`);
    throw err;
  }
}

/** The schema takes either driver's modes; a hand-written conflist can pair one driver with the other's. */
function checkMode(network: VlanNetwork): void {
  const { driver, mode } = network.plugin;
  const modes: readonly string[] = driver === "macvlan" ? MACVLAN_MODES : IPVLAN_MODES;
  if (mode !== undefined && !modes.includes(mode)) throw new UsageError(`network ${network.name}: invalid ${driver} mode "${mode}": use one of ${modes.join(", ")}`);
}

export function attachVlan(req: VlanAttachRequest): VlanAttachResult {
  checkMode(req.network);
  const ipam = vlanIpamOf(req.network, req.dataDir);
  const scope = { dataDir: ipam.dataDir, network: req.network.name, containerId: req.containerId, ifName: req.ifname };
  using host = Netlink.open(req.hostNetnsFd === undefined ? {} : { netns: req.hostNetnsFd });
  // checked before an address is taken: a missing parent is the user's to fix, and nothing is made
  const parent = parentIndex(host, req.network, req.hostNetnsFd !== undefined);
  const allocations = allocate({ ...scope, rangeSets: ipam.rangeSets, requested: req.ips });
  crashPoint("ipam");
  using container = Netlink.open({ netns: req.netnsFd });
  let made = false;
  try {
    makeLink(host, req, parent);
    made = true;
    crashPoint("link");
    const addresses = allocations.map((a) => a.address);
    // usable at once, as on a bridge network: no DAD, a gratuitous ARP when it comes up. Always announced:
    // the LAN's other hosts, not only ctrnet's allocations, may have used the address. arp_notify over
    // netlink, before `up` (the kernel sets a link's IPv4 settings after its flags in one message);
    // accept_dad has no netlink setter.
    if (addresses.some(isV6)) writeSysctl(["ipv6", "conf", req.ifname, "accept_dad"], "0", req.netnsFd);
    container.linkSet(req.ifname, { ipv4Conf: { arpNotify: 1 } });
    for (const address of addresses) container.addressAdd(req.ifname, address, { noDad: isV6(address) });
    container.linkSet(req.ifname, { up: true });
    const gateways = defaultRouteGateways(req.network.plugin.ipam, [...new Set(allocations.map((a) => a.gateway))]);
    const metric = defaultRouteMetric(req.network.plugin.ipam);
    for (const gateway of gateways) container.routeAdd({ dst: "default", gateway, dev: req.ifname, append: true, ...(metric !== undefined ? { metric } : {}) });
    const routes = addStaticRoutes(container, req.ifname, staticRoutesOf(req.network.plugin.ipam), addresses);
    const link = container.link(req.ifname);
    return {
      ifname: req.ifname,
      mac: link.mac ?? "",
      addresses: allocations.map((a) => ({ address: a.address, gateway: a.gateway })),
      gateways,
      ...(routes.length ? { routes } : {}),
    };
  } catch (err) {
    try {
      if (made) container.linkDelete(req.ifname);
    } catch {
      // the error that stopped the setup is the one to report; the link goes with the netns anyway
    }
    try {
      release({ ...scope, known: allocations.map((a) => a.ip) });
    } catch {
      // as above: gc releases a lease left behind
    }
    throw err;
  }
}

/** The link (when its netns is still there) and the leases go, each tried whatever happened to the other. */
export function detachVlan(req: VlanDetachRequest): Error[] {
  const errors: Error[] = [];
  const attempt = (step: () => void) => {
    try {
      step();
    } catch (err) {
      errors.push(err instanceof Error ? err : new Error(String(err)));
    }
  };
  if (req.netnsFd !== undefined) {
    attempt(() => {
      using container = Netlink.open({ netns: req.netnsFd! });
      try {
        container.linkDelete(req.ifname);
      } catch (err) {
        if (!isNetlinkError(err, "ENODEV")) throw err;
      }
    });
  }
  const ipam = vlanIpamOf(req.network, req.dataDir);
  const scope = { dataDir: ipam.dataDir, network: req.network.name, containerId: req.containerId, ifName: req.ifname };
  attempt(() => release({ ...scope, ...(req.addresses ? { known: req.addresses.map((a) => a.split("/")[0]!) } : {}) }));
  return errors;
}
