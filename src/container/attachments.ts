// A new record, connecting and disconnecting networks on it, and the interface names that come with them. Pure.
//
// Names are stable while their network is connected: a disconnect renames nothing (eth0, eth2 stay,
// leaving a gap). A connect takes the lowest ethN no connected network has, a freed one too, as podman
// 4 and 5 do (libpod getFreeInterfaceName; podman 3's NetInterfaceDescriptions kept every name given).
import { UsageError } from "../errors.ts";
import { validateName } from "../names.ts";
import type { NetworkStatus } from "../schema/network-status.ts";
import type { ExposedPort, PortMapping } from "../schema/ports.ts";
import type { ContainerRecord, NetMode, NetworkAttachment } from "../state/index.ts";
import type { EtcOptions } from "./etc-options.ts";

/** The lowest ethN not given to any network of this container yet. */
export function firstFreeIfname(ifnames: Readonly<Record<string, string>>, alsoTaken: ReadonlySet<string> = new Set()): string {
  const used = new Set([...Object.values(ifnames), ...alsoTaken]);
  let n = 0;
  while (used.has(`eth${n}`)) n++;
  return `eth${n}`;
}

/** Appends a network, on the lowest ethN its connected networks leave free. */
/** What a network's attachment asked for: podman's per-network StaticIPs and StaticMAC. */
export interface AttachmentStatics {
  staticIPs?: readonly string[];
  staticMAC?: string;
  /** podman 5's host_interface_name=. */
  hostIfname?: string;
}

function staticsFields(s: AttachmentStatics): { staticIPs?: string[]; staticMAC?: string; hostIfname?: string } {
  return {
    ...(s.staticIPs?.length ? { staticIPs: [...s.staticIPs] } : {}),
    ...(s.staticMAC !== undefined ? { staticMAC: s.staticMAC } : {}),
    ...(s.hostIfname !== undefined ? { hostIfname: s.hostIfname } : {}),
  };
}

export function connectNetwork(rec: ContainerRecord, network: string, aliases: readonly string[] = [], statics: AttachmentStatics = {}): ContainerRecord {
  validateName("network name", network);
  for (const alias of aliases) validateName("network alias", alias);
  if (rec.networks.some((n) => n.network === network)) {
    throw new UsageError(`container ${rec.id} is already connected to network ${network}: network is already connected`);
  }
  // from the connected networks: a record of an older ctrnet still lists disconnected ones in ifnames
  const connected = Object.fromEntries(rec.networks.map((n) => [n.network, n.ifname]));
  const ifname = firstFreeIfname(connected);
  return {
    ...rec,
    ifnames: { ...connected, [network]: ifname },
    networks: [...rec.networks, { network, ifname, aliases: [...aliases], ...staticsFields(statics), status: null }],
  };
}

/** Drops a network from the connected list, and frees its interface name. */
export function disconnectNetwork(rec: ContainerRecord, network: string): ContainerRecord {
  if (!rec.networks.some((n) => n.network === network)) {
    throw new UsageError(`container ${rec.id} is not connected to network ${network}`);
  }
  const { [network]: _, ...ifnames } = rec.ifnames;
  return { ...rec, networks: rec.networks.filter((n) => n.network !== network), ifnames };
}

export interface NewContainer {
  id: string;
  name?: string | null;
  mode: NetMode;
  netns?: { path: string; owned: boolean } | null;
  /** Interface names eth0, eth1, … are given in this order. */
  networks?: readonly ({ network: string; aliases?: readonly string[]; /** podman's interface_name= */ ifname?: string } & AttachmentStatics)[];
  staticIP?: string | null;
  staticIP6?: string;
  staticMAC?: string | null;
  ports?: readonly PortMapping[];
  exposed?: readonly ExposedPort[];
  /** -P/--publish-all was given. */
  publishAll?: boolean;
  /** The options of its /etc files (etc-options.ts). */
  etc?: EtcOptions;
}

/** A record in state `creating`, its networks named eth0, eth1, … in the order given. */
export function newContainerRecord(init: NewContainer): ContainerRecord {
  validateName("container id", init.id);
  if (init.name != null) validateName("container name", init.name);
  const ifnames: Record<string, string> = {};
  const networks: NetworkAttachment[] = [];
  // names asked for (podman's interface_name=) first, so that eth0, eth1, … given to the others skip them
  const asked = new Set<string>();
  for (const { ifname } of init.networks ?? []) {
    if (ifname === undefined) continue;
    if (asked.has(ifname)) throw new UsageError(`interface name "${ifname}" is given twice`);
    asked.add(ifname);
  }
  for (const { network, aliases = [], ifname, ...statics } of init.networks ?? []) {
    validateName("network name", network);
    for (const alias of aliases) validateName("network alias", alias);
    if (network in ifnames) throw new UsageError(`network "${network}" is given twice`);
    ifnames[network] = ifname ?? firstFreeIfname(ifnames, asked);
    networks.push({ network, ifname: ifnames[network], aliases: [...aliases], ...staticsFields(statics), status: null });
  }
  return {
    id: init.id,
    name: init.name ?? null,
    state: "creating",
    mode: init.mode,
    netns: init.netns ?? null,
    networks,
    ifnames,
    staticIP: init.staticIP ?? null,
    ...(init.staticIP6 !== undefined ? { staticIP6: init.staticIP6 } : {}),
    staticMAC: init.staticMAC ?? null,
    ports: [...(init.ports ?? [])],
    ...(init.exposed?.length ? { exposed: [...init.exposed] } : {}),
    ...(init.publishAll ? { publishAll: true as const } : {}),
    ...(init.etc !== undefined ? { etc: structuredClone(init.etc) } : {}),
    helpers: { slirp4netns: null, portForwarder: null, pasta: null },
    createdAt: Date.now(),
  };
}

/** The record with the status of one network replaced. */
export function withStatus(rec: ContainerRecord, network: string, status: NetworkStatus | null): ContainerRecord {
  return { ...rec, networks: rec.networks.map((n) => (n.network === network ? { ...n, status } : n)) };
}
