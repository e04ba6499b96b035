// Keeping podman from handing out a ctrnet network's subnet. podman 4's CNI backend reads the subnets of
// conflists whose first plugin is bridge, macvlan or ipvlan only: a network of ctrnet's own type shows
// there with none. But before it picks a free subnet it also takes every address on the host's interfaces
// as used (containers/common libnetwork/internal/util GetUsedSubnets + getLiveNetworkSubnets, in 4.3.1 as
// now). So from `network create` on, a native bridge network's bridge exists holding its gateway addresses:
// down until its first container (the kernel routes nothing into the subnet for a down link, so nothing
// on the host changes but the gateway's own local address), up from then on as before.
// Internal networks (no gateway on the bridge) and macvlan/ipvlan ones cannot be reserved this way;
// `ctrnet doctor` names them (see unreservedNetworks).
import { existsSync, readFileSync, writeFileSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { errorMessage } from "../errors.ts";
import { hostUid } from "../identity.ts";
import { formatIP, parseCidr } from "../ip/codec.ts";
import { log } from "../log.ts";
import { isNetlinkError, type Link, Netlink } from "../netlink/index.ts";
import type { NetworkScope } from "./store.ts";
import { parseIpamConfig } from "../drivers/ipam/index.ts";
import type { NetworkConfig } from "../drivers/cni/config.ts";
import { isVlanPluginEntry } from "../schema/ctrnet-plugin.ts";
import { firstHost } from "../schema/ip.ts";

export interface Reservation {
  network: string;
  bridge: string;
  mtu?: number;
  vlan?: number;
  /** podman's `-o vrf=NAME`: the VRF device the bridge is made under. */
  vrf?: string;
  /** The gateways with their prefix length: 10.89.1.1/24. */
  addresses: string[];
}

/** What a network of ctrnet's own bridge type must hold on the host for podman to see its subnets. */
export function reservationOf(config: NetworkConfig): Reservation | undefined {
  const plugin = config.plugins[0] as Record<string, unknown> | undefined;
  if (plugin?.type !== "ctrnet" || isVlanPluginEntry(plugin) || typeof plugin.bridge !== "string") return undefined;
  // an unmanaged network's bridge is the host's, never made nor given an address by ctrnet
  if (plugin.isGateway === false || plugin.mode === "unmanaged") return undefined;
  let rangeSets;
  try {
    rangeSets = parseIpamConfig(config.name, plugin.ipam).rangeSets;
  } catch {
    // a broken ipam section is reported where the network is used
    return undefined;
  }
  const addresses = rangeSets.flat().flatMap((r) => {
    const subnet = parseCidr(r.subnet);
    if (subnet === null) return [];
    return [`${r.gateway ?? formatIP(firstHost(subnet))}/${subnet.prefixLength}`];
  });
  return {
    network: config.name,
    bridge: plugin.bridge,
    ...(typeof plugin.mtu === "number" ? { mtu: plugin.mtu } : {}),
    ...(typeof plugin.vlan === "number" && plugin.vlan > 0 ? { vlan: plugin.vlan } : {}),
    ...(typeof plugin.vrf === "string" ? { vrf: plugin.vrf } : {}),
    addresses: [...new Set(addresses)],
  };
}

/** The reservation's addresses the host lacks (all of them when the bridge is missing); [] when it is held. */
export function missingAddresses(nl: Netlink, r: Reservation): string[] {
  let index: number;
  try {
    index = nl.link(r.bridge).index;
  } catch (err) {
    if (isNetlinkError(err, "ENODEV")) return r.addresses;
    throw err;
  }
  const held = new Set(nl.addresses({ link: index }).map((a) => `${a.address}/${a.prefixLength}`));
  return r.addresses.filter((a) => !held.has(a));
}

/**
 * Makes the bridge (down, as the native driver would make it: its MTU, VLAN filtering) and gives it the
 * missing gateway addresses. Idempotent; EEXIST is another ctrnet's same work. A bridge that exists is
 * left up or down as it is.
 */
export function reserve(nl: Netlink, r: Reservation): void {
  const missing = missingAddresses(nl, r);
  if (missing.length === 0) return;
  const ignoreExisting = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      if (!isNetlinkError(err, "EEXIST")) throw err;
    }
  };
  let vrf: number | undefined;
  if (r.vrf !== undefined && missing.length === r.addresses.length && !bridgeExists(nl, r.bridge)) {
    // the bridge goes under its VRF as it is made; with no VRF device yet, a container's attach makes it
    // later and says what is missing (as podman makes such a network, and its containers fail to start)
    const found = linkNamed(nl, r.vrf);
    if (found?.kind !== "vrf") {
      log.debug(`network ${r.network}: not reserving its subnets: vrf ${r.vrf} ${found === undefined ? "does not exist" : "is no vrf device"} yet`);
      return;
    }
    vrf = found.index;
  }
  ignoreExisting(() => {
    try {
      nl.linkAdd({ kind: "bridge", name: r.bridge, mtu: r.mtu, ...(r.vlan !== undefined ? { vlanFiltering: true } : {}), ...(vrf !== undefined ? { master: vrf } : {}) });
    } catch (err) {
      // a kernel without bridge VLAN filtering can never filter: the reservation holds the subnet all the
      // same, and a container's attach says what is missing (as podman makes such a network, and its
      // containers fail to start)
      if (r.vlan === undefined || !isNetlinkError(err, "EOPNOTSUPP")) throw err;
      nl.linkAdd({ kind: "bridge", name: r.bridge, mtu: r.mtu, ...(vrf !== undefined ? { master: vrf } : {}) });
    }
  });
  const link = nl.link(r.bridge);
  if (link.kind !== "bridge") throw new Error(`cannot reserve the subnets of network ${r.network}: ${r.bridge} exists and is not a bridge`);
  for (const address of missing) ignoreExisting(() => nl.addressAdd(link.index, address, { noDad: address.includes(":") }));
}

function linkNamed(nl: Netlink, name: string): Link | undefined {
  try {
    return nl.link(name);
  } catch (err) {
    if (isNetlinkError(err, "ENODEV")) return undefined;
    throw err;
  }
}

const bridgeExists = (nl: Netlink, name: string): boolean => linkNamed(nl, name) !== undefined;

/** The file in the state dir that says in which boot the reservations were last made again. */
const RESTORED = "reservations.boot";
const BOOT_ID = "/proc/sys/kernel/random/boot_id";

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * After a reboot the reserving bridges are gone, and podman would hand out their subnets: the first ctrnet
 * command of each boot (any that builds a context) makes every root native network's reservation again.
 * Costs two small reads when this boot's are made already (and the state dir exists). Never fails the command: what cannot be made
 * is logged, and `ctrnet doctor` names it. Returns the networks whose reservation it made.
 */
export async function restoreReservations(scope: Pick<NetworkScope, "runtimeDir" | "cni">): Promise<string[]> {
  if (hostUid() !== 0) return [];
  const marker = join(scope.runtimeDir, RESTORED);
  const boot = readText(BOOT_ID);
  if (boot === undefined || readText(marker) === boot) return [];
  const restored: string[] = [];
  try {
    const { networks } = await scope.cni.listNetworks();
    const reservations = networks.flatMap((n) => reservationOf(n) ?? []);
    if (reservations.length) {
      using nl = Netlink.open();
      for (const r of reservations) {
        try {
          if (missingAddresses(nl, r).length === 0) continue;
          reserve(nl, r);
          restored.push(r.network);
        } catch (err) {
          log.warn(`network ${r.network}: cannot reserve its subnets on the host: ${errorMessage(err)}`);
        }
      }
    }
    // a read-only command makes no state dir: until one that changes something has made it, the check
    // runs again (a netlink dump of the addresses, no change when they are there)
    if (existsSync(scope.runtimeDir)) writeFileSync(marker, boot);
  } catch (err) {
    log.warn(`cannot make the networks' reservations again: ${errorMessage(err)}`);
  }
  return restored;
}
