// One container interface on a native bridge network, start to end, with no process spawned: addresses
// from the shared host-local table, the bridge and the veth over rtnetlink, the network and the published
// ports as elements of ctrnet's nftables table. Setup undoes its own partial work before it throws;
// teardown keeps going past errors and returns them all. The same code serves ctrnet's lifecycle and
// ctrnet run as a CNI plugin by podman or containerd.
import { CtrnetError, UsageError } from "../../errors.ts";
import { Netlink } from "../../netlink/index.ts";
import { crashPoint } from "../../process/crash-point.ts";
import { phase } from "../../trace.ts";
import type { CtrnetPluginConfig } from "../../schema/ctrnet-plugin.ts";
import { Firewall, type FirewallNetwork, type PublishedPort, type StateSource } from "../firewall/index.ts";
import { type Allocation, allocate, type IpamConfig, leases, parseIpamConfig, release } from "../ipam/index.ts";
import { attachVeth, type BridgeConfig, detachVeth, ensureBridge, findLink } from "./plumbing.ts";
import { addStaticRoutes, defaultRouteGateways, defaultRouteMetric, type IpamStaticRoute, staticRoutesOf } from "../static-routes.ts";

/** A native network as its conflist describes it. */
export interface NativeNetwork {
  name: string;
  plugin: CtrnetPluginConfig;
}

export interface PortRequest {
  protocol: "tcp" | "udp" | "sctp";
  /** "" or absent: every host address. */
  hostIP?: string;
  hostPort: number;
  containerPort: number;
}

export interface AttachRequest {
  network: NativeNetwork;
  containerId: string;
  ifname: string;
  /** An open fd of the container's netns. */
  netnsFd: number;
  /** Where the bridge lives: the rootless netns for a rootless user; this process's own when absent. */
  hostNetnsFd?: number;
  /** host-local's dataDir when the ipam section names none. */
  dataDir: string;
  mac?: string;
  /** Addresses asked for, one per family at most (`--ip`, the `ips` capability). */
  ips?: readonly string[];
  /** The host end's name (podman 5's host_interface_name); hostInterfaceName's by default. */
  hostInterface?: string;
  ports?: readonly PortRequest[];
  /** What the whole table must hold, for when it has to be rebuilt (after `nft flush ruleset`). */
  firewallState: StateSource;
  /** No record of this attachment exists, so it holds no lease (ipam's AllocateRequest.unheld). */
  unrecorded?: boolean;
}

export interface AttachResult {
  ifname: string;
  mac: string;
  /** The host end of the veth pair. */
  hostInterface: string;
  /** CIDRs with their gateways. */
  addresses: { address: string; gateway: string }[];
  /** Default routes set in the container. */
  gateways: string[];
  /** The network's static routes (podman's `--route`) set in the container. */
  routes?: IpamStaticRoute[];
  /** One entry per port, with the container address it goes to. */
  ports: PublishedPort[];
}

export type DetachRequest = Omit<AttachRequest, "mac" | "ips" | "netnsFd" | "firewallState" | "unrecorded"> & {
  /** What setup published, from its result; recomputed by nobody, since the addresses are released here. */
  ports: readonly PublishedPort[];
  /** What the table holds without this attachment: with it, a table flushed from outside is made again. */
  firewallState?: StateSource;
  /**
   * The ports are not known (nothing was recorded: an attach killed half-way): every port the table DNATs
   * to the addresses this attachment leases goes too.
   */
  portsUnknown?: boolean;
  /** The addresses setup gave it (its result's), so only their lease files are read, not the whole table. */
  addresses?: readonly string[];
  /**
   * The caller named no netns (CNI_NETNS empty: the runtime removed it, or is removing it): the veth pair
   * goes with it, by the kernel's own hand, so its host end is waited for before it is removed here.
   */
  netnsGone?: boolean;
};

/** Stable per attachment, so a teardown finds the pair without anything stored: veth + 11 hex. */
export function hostInterfaceName(containerId: string, ifname: string): string {
  return `veth${new Bun.CryptoHasher("sha256").update(`${containerId}\0${ifname}`).digest("hex").slice(0, 11)}`;
}

export function ipamOf(network: NativeNetwork, dataDir: string): IpamConfig & { dataDir: string } {
  // no ipam section (podman's --ipam-driver none): nothing to hand out
  const ipam = network.plugin.ipam === undefined ? { rangeSets: [] } : parseIpamConfig(network.name, network.plugin.ipam);
  return { ...ipam, dataDir: ipam.dataDir ?? dataDir };
}

export function firewallNetworkOf(network: NativeNetwork, subnets: readonly string[]): FirewallNetwork {
  const internal = network.plugin.internal || (!network.plugin.ipMasq && !network.plugin.isGateway);
  return { bridge: network.plugin.bridge, subnets, ...(internal ? { internal } : {}), ...(network.plugin.isolate ? { isolate: network.plugin.isolate } : {}) };
}

/** Every subnet of the network's ranges. */
export function subnetsOf(ipam: IpamConfig): string[] {
  return [...new Set(ipam.rangeSets.flatMap((set) => set.map((r) => r.subnet)))];
}

function bridgeOf(network: NativeNetwork, allocations: readonly Allocation[]): BridgeConfig {
  const p = network.plugin;
  // an internal network's bridge holds its gateway too (for the DNS server); its containers get no route to it
  const gateways = p.isGateway || p.internal ? [...new Set(allocations.map((a) => `${a.gateway}/${a.prefixLength}`))] : [];
  if (p.mode === "unmanaged") return { name: p.bridge, mtu: p.mtu, vlan: p.vlan, gateways: [], unmanaged: true };
  return { name: p.bridge, mtu: p.mtu, vlan: p.vlan, gateways, routeLocalnet: true, ...(p.vrf !== undefined ? { vrf: p.vrf } : {}) };
}

function publishedPorts(ports: readonly PortRequest[], allocations: readonly Allocation[]): PublishedPort[] {
  const v4 = allocations.find((a) => !a.ip.includes(":"))?.ip;
  const v6 = allocations.find((a) => a.ip.includes(":"))?.ip;
  return ports.flatMap((p) => {
    const hostIP = p.hostIP || undefined;
    const targets = hostIP === undefined ? [v4, v6] : [hostIP.includes(":") ? v6 : v4];
    return targets.flatMap((containerIP) =>
      containerIP === undefined ? [] : [{ protocol: p.protocol, hostPort: p.hostPort, containerIP, containerPort: p.containerPort, ...(hostIP ? { hostIP } : {}) }],
    );
  });
}

function openFirewall(req: Pick<AttachRequest, "hostNetnsFd">): Firewall {
  return Firewall.open(req.hostNetnsFd === undefined ? {} : { netns: req.hostNetnsFd });
}

/** podman's --ipam-driver none: no address to hand out, and none may be asked for. */
function noAddresses(req: AttachRequest): Allocation[] {
  if (req.ips?.length) throw new UsageError(`network ${req.network.name}: requested IP address ${req.ips.join(", ")} is in no range of the network (its ipam driver is none)`);
  return [];
}

/**
 * ctrnet's DNS server answers a network's containers on its gateway: on an unmanaged network, the host's
 * bridge must hold it (netavark's rule, whose aardvark-dns binds the bridge's addresses), else the names
 * would go unanswered.
 */
function checkDnsAddress(host: Netlink, bridge: string, index: number, allocations: readonly Allocation[]): void {
  const held = new Set(host.addresses({ link: index }).map((a) => a.address));
  const gateways = [...new Set(allocations.map((a) => a.gateway))];
  if (gateways.length === 0 || gateways.some((g) => held.has(g))) return;
  throw new CtrnetError(
    `bridge '${bridge}' in unmanaged mode does not hold the network's gateway ${gateways.join(", ")}, where ctrnet's DNS server answers its containers: add the address to the bridge or disable DNS for this network (--disable-dns)`,
  );
}

export function attach(req: AttachRequest): AttachResult {
  const ipam = ipamOf(req.network, req.dataDir);
  const scope = { dataDir: ipam.dataDir, network: req.network.name, containerId: req.containerId, ifName: req.ifname };
  const allocations = req.network.plugin.ipam === undefined ? noAddresses(req) : allocate({ ...scope, rangeSets: ipam.rangeSets, requested: req.ips, unheld: req.unrecorded === true, ownerMarks: true });
  crashPoint("ipam");
  phase("ipam allocated");
  const undo: (() => void)[] = [() => release({ ...scope, known: allocations.map((a) => a.ip) })];
  const host = Netlink.open(req.hostNetnsFd === undefined ? {} : { netns: req.hostNetnsFd });
  const container = Netlink.open({ netns: req.netnsFd });
  const fw = openFirewall(req);
  phase("sockets open");
  try {
    const bridge = bridgeOf(req.network, allocations);
    const bridgeIndex = ensureBridge(host, bridge, req.hostNetnsFd);
    if (bridge.unmanaged && req.network.plugin.ctrnetDns) checkDnsAddress(host, bridge.name, bridgeIndex, allocations);
    phase("bridge ensured");
    // podman 5's unmanaged mode: no firewall rule at all, so no masquerade and no published port (netavark's)
    const unmanaged = req.network.plugin.mode === "unmanaged";
    if (!unmanaged) fw.ensureNetwork(firewallNetworkOf(req.network, subnetsOf(ipam)), req.firewallState);
    phase("firewall network ensured");
    crashPoint("bridge");
    const hostInterface = req.hostInterface ?? hostInterfaceName(req.containerId, req.ifname);
    if (req.hostInterface !== undefined && findLink(host, hostInterface) !== undefined) {
      // netavark's words
      throw new UsageError(`create veth pair: interface ${req.ifname} already exists on container namespace or ${hostInterface} exists on host namespace`);
    }
    const gateways = req.network.plugin.isGateway ? defaultRouteGateways(req.network.plugin.ipam, [...new Set(allocations.map((a) => a.gateway))]) : [];
    const veth = attachVeth(host, container, { ...bridge, index: bridgeIndex }, {
      netnsFd: req.netnsFd,
      ifname: req.ifname,
      hostName: hostInterface,
      mac: req.mac,
      addresses: allocations.map((a) => a.address),
      gateways,
      ...(defaultRouteMetric(req.network.plugin.ipam) !== undefined ? { defaultRouteMetric: defaultRouteMetric(req.network.plugin.ipam) } : {}),
      // only an IPv4 address handed out before needs neighbours told (ARP is IPv4's)
      gratuitousArp: allocations.some((a) => !a.fresh && !a.ip.includes(":")),
    });
    undo.push(() => detachVeth(host, hostInterface));
    const routes = addStaticRoutes(container, veth.ifname, staticRoutesOf(req.network.plugin.ipam), allocations.map((a) => a.address));
    crashPoint("veth");
    phase("veth attached");
    // netavark's: an internal network forwards no port to its containers (its DNAT rules are skipped)
    const ports = unmanaged || firewallNetworkOf(req.network, []).internal ? [] : publishedPorts(req.ports ?? [], allocations);
    if (ports.length) fw.publish(ports);
    crashPoint("firewall");
    phase("ports published");
    return {
      ifname: veth.ifname,
      mac: veth.mac,
      hostInterface,
      addresses: allocations.map((a) => ({ address: a.address, gateway: a.gateway })),
      gateways,
      ...(routes.length ? { routes } : {}),
      ports,
    };
  } catch (err) {
    for (const step of undo.reverse()) {
      try {
        step();
      } catch {
        // the error that stopped the setup is the one to report; gc finds what this left
      }
    }
    throw err;
  } finally {
    fw.close();
    container.close();
    host.close();
  }
}

/** The addresses the attachment holds in the host-local table (a lease naming only its container counts). */
function leasedAddresses(scope: { dataDir: string; network: string; containerId: string; ifName: string }): string[] {
  return leases(scope)
    .filter((l) => l.containerId === scope.containerId && (l.ifName ?? scope.ifName) === scope.ifName)
    .map((l) => l.ip);
}

/**
 * How long a detach whose netns is gone waits for the kernel to remove the veth pair with it (cleanup_net,
 * from a worker of the kernel's: some 5-20 ms after the netns's last reference went, here) before it
 * removes the pair itself: the netns may still be held by something else (a process still in it).
 */
const NETNS_GONE_WAIT_MS = 250;

/** Ports, the veth pair and the addresses go, each tried whatever happened to the one before. */
export function detach(req: DetachRequest): Error[] {
  const errors: Error[] = [];
  const attempt = (step: () => void) => {
    try {
      step();
    } catch (err) {
      errors.push(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const ipam = ipamOf(req.network, req.dataDir);
  const scope = { dataDir: ipam.dataDir, network: req.network.name, containerId: req.containerId, ifName: req.ifname };
  // The firewall's socket is closed only once the veth pair is gone. Closing a socket that deleted elements
  // waits until the kernel has freed them, after an RCU grace period (nf_tables flushes its destroy work
  // when a netlink socket is released), and removing a link waits for grace periods of its own (about 10-25
  // ms each here): closed first, rm waited for both in turn; closed after, the first has passed meanwhile.
  let fw: Firewall | undefined;
  // an unmanaged network has nothing in the firewall (attach): not even the table is made for it
  const unmanaged = req.network.plugin.mode === "unmanaged";
  try {
    if (!unmanaged) attempt(() => {
      fw = openFirewall(req);
      fw.unpublish(req.ports, req.firewallState);
      if (req.portsUnknown) fw.unpublishTo(leasedAddresses(scope));
    });
    phase("detach: ports unpublished");
    attempt(() => {
      const hostOptions = req.hostNetnsFd === undefined ? {} : { netns: req.hostNetnsFd };
      const host = Netlink.open(hostOptions);
      try {
        const name = req.hostInterface ?? hostInterfaceName(req.containerId, req.ifname);
        detachVeth(host, name, req.netnsGone ? { waitMs: NETNS_GONE_WAIT_MS, options: hostOptions } : undefined);
      } finally {
        host.close();
      }
    });
  } finally {
    fw?.close();
  }
  phase("detach: veth removed");
  attempt(() => release({ ...scope, ...(req.addresses ? { known: req.addresses.map((a) => a.split("/")[0]!) } : {}) }));
  phase("detach: addresses released");
  return errors;
}
