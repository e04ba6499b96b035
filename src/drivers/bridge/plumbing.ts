// The links of a native bridge network, as netavark's bridge driver makes them, over ctrnet's own rtnetlink
// client with no process spawned: the bridge (made on first use, kept until `network rm`), and per
// container a veth pair whose container end is created directly in the container's netns, enslaved with
// hairpin on (a container reaches its own published ports through the host), an optional VLAN as the port's
// PVID, the container's addresses without duplicate address detection, its MAC, and default routes through
// the gateways. Every call takes open sockets: one in the netns that holds the bridge (the host's, or the
// rootless netns) and one in the container's, so a whole attach is a handful of netlink messages.
import { CtrnetError, ErrorList } from "../../errors.ts";
import { awaitLinkRemoved, isNetlinkError, type LinkSummary, type Netlink, type SocketOptions } from "../../netlink/index.ts";
import { writeSysctl } from "../../netns/index.ts";

export interface BridgeConfig {
  /** The bridge device, e.g. ctrnet1. */
  name: string;
  mtu?: number;
  /** podman's `-o vlan=N`: the bridge filters VLANs and each port gets N as its untagged PVID. */
  vlan?: number;
  /** The gateway addresses the bridge holds, with their prefix length (10.89.0.1/24, fd10::1/64). */
  gateways: readonly string[];
  /** Lets DNAT from 127.0.0.1 reach containers behind the bridge (needed by ports published on localhost). */
  routeLocalnet?: boolean;
  /** podman's `-o vrf=NAME`: the VRF device a bridge made here is enslaved to (netavark's: one found existing is left as it is). */
  vrf?: string;
  /** podman 5's `-o mode=unmanaged`: the host's bridge, which must exist, used as it is. */
  unmanaged?: boolean;
}

export interface VethConfig {
  /** An open fd of the container's netns, where the container end is made. */
  netnsFd: number;
  /** The container end's name, e.g. eth0. */
  ifname: string;
  /** The host end's name; a random veth<8 hex> when not given. */
  hostName?: string;
  mac?: string;
  mtu?: number;
  /** The container's addresses with their prefix length. */
  addresses: readonly string[];
  /** Default routes: one gateway per family at most. */
  gateways: readonly string[];
  /** Their metric (podman's `metric` option); the kernel's default when absent. */
  defaultRouteMetric?: number;
  /**
   * A gratuitous ARP as the container end comes up (arp_notify), so that neighbours forget a previous
   * owner of a reused address; default true. Left out for addresses new to the network (IPAM's fresh):
   * no neighbour can hold a wrong entry for them, and the broadcast, which the bridge floods into every
   * container on it, is what made each attach cost more the more containers a network had.
   */
  gratuitousArp?: boolean;
}

export interface Veth {
  hostName: string;
  ifname: string;
  mac: string;
  /** The container end's index inside its netns. */
  index: number;
}

const isV6 = (cidrOrIp: string): boolean => cidrOrIp.includes(":");

/** The link of that name (its summary), undefined when there is none (any other failure is thrown). */
export function findLink(nl: Netlink, name: string): LinkSummary | undefined {
  try {
    return nl.linkSummary(name);
  } catch (err) {
    if (!isNetlinkError(err, "ENODEV")) throw err;
    return undefined;
  }
}

/** `-o vlan=N` on a kernel built without bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING). */
function noVlanFiltering(bridge: BridgeConfig): CtrnetError {
  return new CtrnetError(`bridge ${bridge.name}: -o vlan=${bridge.vlan} needs the kernel's bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING), which this kernel lacks`);
}

function ignoreExisting(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!isNetlinkError(err, "EEXIST")) throw err;
  }
}

/**
 * The bridge with its gateway addresses, up, and the forwarding settings it needs; idempotent and safe
 * when two ctrnets attach the first containers of a network at once (EEXIST is the other one's work).
 * `bridgeNetns` is where a sysctl is written when one is off: the netns `host` was opened in (undefined:
 * this one). Everything is read over netlink, not /proc/sys/net: that lookup slows down with every
 * network namespace the host has (a container's each), and this runs on every attach. Returns the
 * bridge's index.
 */
export function ensureBridge(host: Netlink, bridge: BridgeConfig, bridgeNetns?: number): number {
  let link = findLink(host, bridge.name);
  if (bridge.unmanaged) return unmanagedBridge(bridge, link);
  if (link === undefined) {
    const vrf = bridge.vrf === undefined ? undefined : vrfIndex(host, bridge.vrf);
    // Multicast snooping off: on a container network no querier runs, and without one the bridge floods all
    // multicast anyway (br_multicast_querier_exists), so snooping changes no delivery; what it costs is
    // per port, on every port: each port that comes up or goes restarts every port's query timers
    // (br_port_state_selection -> br_multicast_enable_port), which made attach and detach grow with the
    // containers on the network. A network where someone runs a querier gets its multicast flooded.
    ignoreExisting(() => {
      try {
        host.linkAdd({ kind: "bridge", name: bridge.name, mtu: bridge.mtu, multicastSnooping: false, ...(bridge.vlan !== undefined ? { vlanFiltering: true } : {}), ...(vrf !== undefined ? { master: vrf } : {}) });
      } catch (err) {
        throw bridge.vlan !== undefined && isNetlinkError(err, "EOPNOTSUPP") ? noVlanFiltering(bridge) : err;
      }
    });
    link = host.linkSummary(bridge.name);
  }
  // by index: the name would cost one more lookup per call
  const held = new Set(host.addresses({ link: link.index }).map((a) => `${a.address}/${a.prefixLength}`));
  for (const gateway of bridge.gateways) {
    if (!held.has(gateway)) ignoreExisting(() => host.addressAdd(link.index, gateway, { noDad: isV6(gateway) }));
  }
  // route_localnet is the bridge's own: set with `up`, in one message, when either is missing
  const localnet = bridge.routeLocalnet && link.ipv4Conf?.routeLocalnet !== 1;
  if (!link.up || localnet) host.linkSet(link.index, { ...(link.up ? {} : { up: true }), ...(localnet ? { ipv4Conf: { routeLocalnet: 1 } } : {}) });
  // the switches for every interface have no netlink setter: written, in /proc, only when off
  if (!host.forwarding(4)) writeSysctl(["ipv4", "ip_forward"], "1", bridgeNetns);
  if (bridge.gateways.some(isV6) && !host.forwarding(6)) writeSysctl(["ipv6", "conf", "all", "forwarding"], "1", bridgeNetns);
  return link.index;
}

/** The host's bridge of an unmanaged network, in netavark's words when it is not there. */
function unmanagedBridge(bridge: BridgeConfig, link: LinkSummary | undefined): number {
  if (link === undefined) throw new CtrnetError(`in unmanaged mode, the bridge must already exist on the host: ${bridge.name}: no such device`);
  if (link.kind !== "bridge") throw new CtrnetError(`in unmanaged mode, ${bridge.name} must be a bridge: it is ${link.kind === undefined ? "a physical or loopback device" : `a ${link.kind}`}`);
  return link.index;
}

/** The index of the VRF device a new bridge goes under, in netavark's words when there is none. */
function vrfIndex(host: Netlink, name: string): number {
  const vrf = findLink(host, name);
  if (vrf === undefined) throw new CtrnetError(`get vrf to set up bridge interface: vrf ${name}: no such device (make it first, e.g. ip link add ${name} type vrf table N)`);
  if (vrf.kind !== "vrf") throw new CtrnetError(`vrf ${name} already exists but is ${vrf.kind === undefined ? "a physical or loopback" : `a ${vrf.kind}`} interface`);
  return vrf.index;
}

export function randomVethName(): string {
  return `veth${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex")}`;
}

/**
 * The container's interface on the bridge. Undoes its own partial work before it throws: deleting the host
 * end removes the pair, and with it the container end's addresses and routes.
 */
export function attachVeth(host: Netlink, container: Netlink, bridge: BridgeConfig & { index?: number }, veth: VethConfig): Veth {
  const hostName = veth.hostName ?? randomVethName();
  const mtu = veth.mtu ?? bridge.mtu;
  // on the bridge and up as it is made: one message less, and one wait less for the rtnl lock, which every
  // link change on the host takes and which the kernel's per-port work holds longer with every port
  const master = bridge.index ?? host.linkSummary(bridge.name).index;
  host.linkAdd({ kind: "veth", name: hostName, mtu, master, up: true, peer: { name: veth.ifname, netnsFd: veth.netnsFd, mtu, mac: veth.mac } });
  try {
    portSettings(host, hostName);
    if (bridge.vlan !== undefined) {
      try {
        host.bridgeVlanAdd(hostName, bridge.vlan, { pvid: true, untagged: true });
      } catch (err) {
        throw isNetlinkError(err, "EOPNOTSUPP") ? noVlanFiltering(bridge) : err;
      }
    }
    // Usable at once: no DAD on its addresses (set per address too), gratuitous ARP when it comes up, so
    // neighbours forget a previous owner of a reused address (gratuitousArp), and loose reverse-path
    // filtering (rp_filter 2, as netavark sets it), so that on a host whose default is strict (1) a
    // container on several networks still takes a reply that comes back on another of its interfaces.
    // Both go over netlink, before `up` (the ARP is sent as the link comes up); accept_dad has no netlink
    // setter, so IPv6 keeps its /proc write, a thread entering the netns.
    if (veth.addresses.some(isV6)) writeSysctl(["ipv6", "conf", veth.ifname, "accept_dad"], "0", veth.netnsFd);
    // looked up once: its index spares each step below a lookup by name, and its MAC (random unless given)
    // is the kernel's from the pair's creation on
    const link = container.linkSummary(veth.ifname);
    containerSettings(container, link.index, veth.addresses, veth.gratuitousArp ?? true);
    for (const address of veth.addresses) container.addressAdd(link.index, address, { noDad: isV6(address) });
    container.linkSet(link.index, { up: true });
    // beside the default route of another network the container is on, as the reference bridge plugin does
    const metric = veth.defaultRouteMetric !== undefined ? { metric: veth.defaultRouteMetric } : {};
    for (const gateway of veth.gateways) container.routeAdd({ dst: "default", gateway, dev: link.index, append: true, ...metric });
    return { hostName, ifname: veth.ifname, mac: link.mac ?? "", index: link.index };
  } catch (err) {
    try {
      host.linkDelete(hostName);
    } catch (undo) {
      if (!isNetlinkError(undo, "ENODEV")) throw new ErrorList(`attaching ${hostName} failed, and so did removing it`, [err, undo]);
    }
    throw err;
  }
}

/**
 * The host end, already on the bridge and up, gets hairpin (as the port's slave data, by name: no lookup
 * of its index) and no IPv6 link-local address, in one message: a bridge port needs no address, and each
 * one would add IPv6 routes that the kernel walks, all of them, at every link change of any interface
 * (rt6_sync_down_dev), and DAD and router solicitations on top. The kernel refuses addr_gen_mode in the
 * creating message (EAFNOSUPPORT: the link has no IPv6 state yet), and makes the address only once the
 * container end is up too, so this comes in time. A kernel without IPv6 (or an MTU below IPv6's minimum,
 * so no IPv6 on the link) refuses the setting: then it goes without it.
 */
function portSettings(host: Netlink, hostName: string): void {
  try {
    host.linkSet(hostName, { bridgePort: { hairpin: true }, ipv6AddrGenMode: "none" });
  } catch (err) {
    if (!isNetlinkError(err, "EAFNOSUPPORT")) throw err;
    host.linkSet(hostName, { bridgePort: { hairpin: true } });
  }
}

/**
 * The container end's gratuitous ARP and reverse-path filtering (above), in one message with, on a network
 * without IPv6 (addresses, none of them IPv6), no IPv6 link-local address: as Docker disables IPv6 on an
 * interface of a network without it. The address would serve nothing there, and making it sends a DAD
 * neighbour solicitation, a router solicitation and multicast listener reports (about six packets in the
 * attach's first seconds), which the bridge floods to every port, into every other container's namespace:
 * work for the whole machine that grows with the number of containers on the network. An interface without
 * addresses (podman's `--ipam-driver=none`) keeps its link-local address, its only one.
 * No IPv6 on the link (a kernel without it, an MTU below 1280): the IPv4 part alone.
 */
function containerSettings(container: Netlink, index: number, addresses: readonly string[], gratuitousArp: boolean): void {
  const ipv4Conf = { arpNotify: gratuitousArp ? 1 : 0, rpFilter: 2 };
  if (addresses.length === 0 || addresses.some(isV6)) return void container.linkSet(index, { ipv4Conf });
  try {
    container.linkSet(index, { ipv4Conf, ipv6AddrGenMode: "none" });
  } catch (err) {
    if (!isNetlinkError(err, "EAFNOSUPPORT")) throw err;
    container.linkSet(index, { ipv4Conf });
  }
}

/**
 * Removes the pair by its host end; a pair already gone (its netns was removed) is no error. With `gone`,
 * the netns of its other end is going away, taking the pair with it: that is waited for first (up to
 * waitMs), and the pair is removed here only if it outlasts the wait. Removing a link holds the calling
 * thread for the kernel's RCU grace periods (10-30 ms on a small VM); the kernel's own removal of a dead
 * netns's links does not, so the caller's work beside it is not held up.
 */
export function detachVeth(host: Netlink, hostName: string, gone?: { waitMs: number; options: SocketOptions }): void {
  if (gone && awaitLinkRemoved(host, hostName, gone.waitMs, gone.options)) return;
  try {
    host.linkDelete(hostName);
  } catch (err) {
    if (!isNetlinkError(err, "ENODEV")) throw err;
  }
}
