// Connecting and disconnecting networks on a record, and the interface names that come with them.
//
// Names are stable for the life of the container, as podman keeps them (its NetInterfaceDescriptions only
// ever grows): a network keeps the ethN it was first given, across disconnect and reconnect, and a name
// once given is never handed to another network while the container exists. So a disconnect leaves a
// gap (eth0, eth2) rather than renaming anything; a process that remembered "eth1 is network b" can
// never find eth1 meaning network c.
import { UsageError } from "../errors.ts";
import { validateName } from "../names.ts";
import type { ContainerRecord } from "./record.ts";

/** The lowest ethN not given to any network of this container yet. */
export function firstFreeIfname(ifnames: Readonly<Record<string, string>>): string {
  const used = new Set(Object.values(ifnames));
  let n = 0;
  while (used.has(`eth${n}`)) n++;
  return `eth${n}`;
}

/** Appends a network; it gets back its old interface name if it was connected before. */
export function connectNetwork(rec: ContainerRecord, network: string, aliases: readonly string[] = []): ContainerRecord {
  validateName("network name", network);
  for (const alias of aliases) validateName("network alias", alias);
  if (rec.networks.some((n) => n.network === network)) {
    throw new UsageError(`container "${rec.id}" is already connected to network "${network}": network is already connected`);
  }
  const ifname = rec.ifnames[network] ?? firstFreeIfname(rec.ifnames);
  return {
    ...rec,
    ifnames: { ...rec.ifnames, [network]: ifname },
    networks: [...rec.networks, { network, ifname, aliases: [...aliases], result: null }],
  };
}

/** Drops a network from the connected list; its interface name stays reserved for it. */
export function disconnectNetwork(rec: ContainerRecord, network: string): ContainerRecord {
  if (!rec.networks.some((n) => n.network === network)) {
    throw new UsageError(`container "${rec.id}" is not connected to network "${network}"`);
  }
  return { ...rec, networks: rec.networks.filter((n) => n.network !== network) };
}
