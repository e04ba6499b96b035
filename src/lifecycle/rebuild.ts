// Records rebuilt from the system after a damaged state database was set aside (state/db.ts). What ctrnet
// left outside the database says enough to take a bridge container back: each CNI cache entry carrying
// this ctrnet's owner mark names the container, its network, interface, netns, result, ports and aliases
// (native networks' too: ctrnet's own runtime caches them as well); the netns marks say which netns files
// ctrnet made; the helper files name a rootless container's port forwarder. Containers that left nothing
// of the kind (none, slirp4netns, host) cannot be told apart and are left to `ctrnet gc`.
import { statSync } from "node:fs";
import { type CachedAttachment, listCacheSync, parseResult } from "../drivers/cni/index.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { NAME_PATTERN } from "../names.ts";
import { shortId } from "../container/aliases.ts";
import { statusFromCniResult } from "../schema/network-status.ts";
import { fromCniPortMappings } from "../schema/ports.ts";
import type { ContainerRecord, ContainerState, NetworkAttachment, RebuildRecords } from "../state/index.ts";
import { markedNetns, readHelperPids } from "../state/ledger.ts";

/** Where this ctrnet keeps its files, and the owner mark of its CNI cache entries. */
interface Where {
  readonly runtimeDir: string;
  readonly cni: { readonly cacheDir: string; readonly owner: string };
}

/** eth0, eth1, …, eth10 in that order: the order the networks were connected in, near enough. */
function byIfname(a: CachedAttachment, b: CachedAttachment): number {
  const n = (x: CachedAttachment) => Number.parseInt(x.ifName.replace(/^\D+/, ""), 10);
  return n(a) - n(b) || a.ifName.localeCompare(b.ifName);
}

function aliasesOf(entry: CachedAttachment, id: string): string[] {
  const all = (entry.capabilityArgs.aliases as Record<string, unknown> | undefined)?.[entry.network];
  return Array.isArray(all) ? all.filter((a): a is string => typeof a === "string" && a !== shortId(id) && NAME_PATTERN.test(a)) : [];
}

function nameOf(entries: readonly CachedAttachment[], id: string): string | null {
  const name = entries[0]!.cniArgs.find(([k]) => k === "K8S_POD_NAME")?.[1];
  return name !== undefined && name !== id && NAME_PATTERN.test(name) ? name : null;
}

function recordOf(ctx: Where, id: string, entries: CachedAttachment[], marked: ReadonlySet<string>): ContainerRecord {
  entries.sort(byIfname);
  const networks: NetworkAttachment[] = entries.map((e) => ({
    network: e.network,
    ifname: e.ifName,
    aliases: aliasesOf(e, id),
    status: e.result ? statusFromCniResult(parseResult(e.result), e.ifName) : null,
  }));
  const netnsPath = entries.find((e) => e.netnsPath)?.netnsPath;
  const first = entries[0]!.capabilityArgs;
  const ports = entries.map((e) => e.capabilityArgs.portMappings).find(Array.isArray) ?? [];
  const ips = Array.isArray(first.ips) ? first.ips : [];
  const forwarder = readHelperPids(ctx, id).portForwarder;
  return {
    id,
    name: nameOf(entries, id),
    state: "ready",
    mode: { kind: "bridge" },
    netns: netnsPath ? { path: netnsPath, owned: marked.has(netnsPath) } : null,
    networks,
    ifnames: Object.fromEntries(networks.map((n) => [n.network, n.ifname])),
    staticIP: typeof ips[0] === "string" ? ips[0] : null,
    staticMAC: typeof first.mac === "string" ? first.mac : null,
    ports: fromCniPortMappings(ports),
    helpers: { slirp4netns: null, portForwarder: forwarder?.pid ?? null },
    createdAt: Math.floor(Math.min(...entries.map((e) => statSync(e.file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()))),
  };
}

/** Inserts a record for every container of this ctrnet found in the CNI cache; says how many, in words. */
export function rebuildFromSystem(ctx: Where, fresh: ContainerState): string {
  const byContainer = new Map<string, CachedAttachment[]>();
  for (const entry of listCacheSync(ctx.cni.cacheDir)) {
    if (entry.owner !== ctx.cni.owner) continue;
    byContainer.set(entry.containerId, [...(byContainer.get(entry.containerId) ?? []), entry]);
  }
  const marked = new Set(markedNetns(ctx));
  const rebuilt: string[] = [];
  for (const [id, entries] of byContainer) {
    try {
      fresh.insert(recordOf(ctx, id, entries, marked));
      rebuilt.push(id);
    } catch (err) {
      log.debug(`no record rebuilt for container ${id}: ${errorMessage(err)}`);
    }
  }
  if (rebuilt.length === 0) return "nothing of its containers was found to rebuild records from";
  return `rebuilt the records of ${rebuilt.length} container${rebuilt.length === 1 ? "" : "s"} from ctrnet's CNI cache and netns files (${rebuilt.join(", ")})`;
}

export function rebuilder(ctx: Where): RebuildRecords {
  return (fresh) => rebuildFromSystem(ctx, fresh);
}
