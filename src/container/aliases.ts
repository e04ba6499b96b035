import type { ContainerRecord, NetworkAttachment } from "../state/index.ts";

/** Docker's and podman's short id: the first 12 characters. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}

/**
 * The names a container answers to on one network, as podman's Aliases: the aliases it was given, its
 * short id, then its --hostname if it was given one (getExtraNetworkAliases).
 */
export function networkAliases(rec: ContainerRecord, attachment: NetworkAttachment): string[] {
  return [...new Set([...attachment.aliases, shortId(rec.id), ...(rec.etc?.hostname ? [rec.etc.hostname] : [])])];
}
