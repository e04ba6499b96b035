// Records rebuilt from the system after a damaged state database was set aside (state/db.ts). What ctrnet
// left outside the database says enough to take a bridge container back: each CNI cache entry carrying
// this ctrnet's owner mark names the container, its network, interface, netns, result, ports and aliases
// (native networks' too: ctrnet's own runtime caches them as well); the netns marks say which netns files
// ctrnet made; the helper files name a rootless container's port forwarder, and a slirp4netns container's
// slirp4netns, whose command line (read while it runs) gives the options and netns it was started with
// (not the ports: they went to the forwarder on its stdin). Containers that left nothing of the kind
// (none, host, a slirp4netns that died) cannot be told apart and are left to `ctrnet gc`.
import { readFileSync, statSync } from "../../ffi/fs.ts";
import { type CachedAttachment, listCacheSync, parseResult } from "../drivers/cni/index.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { NAME_PATTERN } from "../names.ts";
import { shortId } from "../container/aliases.ts";
import { statusFromCniResult } from "../schema/network-status.ts";
import { fromCniPortMappings } from "../schema/ports.ts";
import type { ContainerRecord, ContainerState, NetworkAttachment, RebuildRecords } from "../state/index.ts";
import { containersWithHelpers, markedNetns, readHelperPids } from "../state/ledger.ts";
import { running } from "../process/supervise.ts";
import { DEFAULT_SLIRP4NETNS_MTU } from "../drivers/slirp4netns/argv.ts";
import { HOST_IFNAME_ARG } from "../schema/ctrnet-plugin.ts";

/** An interface name the record's schema takes (state/record.ts Ifname). */
const IFNAME_PATTERN = /^[^\s/:]{1,15}$/;

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
  const networks: NetworkAttachment[] = entries.map((e) => {
    // podman's host_interface_name, as the ADD was given it (drivers/cni/args.ts)
    const hostIfname = e.cniArgs.find(([k]) => k === HOST_IFNAME_ARG)?.[1];
    return {
      network: e.network,
      ifname: e.ifName,
      aliases: aliasesOf(e, id),
      ...(hostIfname !== undefined && IFNAME_PATTERN.test(hostIfname) && hostIfname !== "." && hostIfname !== ".." ? { hostIfname } : {}),
      status: e.result ? statusFromCniResult(parseResult(e.result), e.ifName) : null,
    };
  });
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
    helpers: { slirp4netns: null, portForwarder: forwarder?.pid ?? null, pasta: null },
    createdAt: Math.floor(Math.min(...entries.map((e) => statSync(e.file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()))),
  };
}

/** The `--network slirp4netns:…` options and netns path a slirp4netns command line was built from (argv.ts). */
export function slirp4netnsModeOf(argv: readonly string[]): { options: string[]; netnsPath: string } | undefined {
  const at = argv.indexOf("--netns-type=path");
  const netnsPath = at < 0 ? undefined : argv[at + 1];
  if (netnsPath === undefined) return undefined;
  const value = (flag: string) => argv.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
  const options: string[] = [];
  const cidr = value("--cidr");
  if (cidr !== undefined) options.push(`cidr=${cidr}`);
  const mtu = value("--mtu");
  if (mtu !== undefined && Number(mtu) !== DEFAULT_SLIRP4NETNS_MTU) options.push(`mtu=${mtu}`);
  if (!argv.includes("--disable-host-loopback")) options.push("allow_host_loopback=true");
  if (argv.includes("--enable-ipv6")) options.push("enable_ipv6=true");
  const outbound = value("--outbound-addr");
  if (outbound !== undefined) options.push(`outbound_addr=${outbound}`);
  const outbound6 = value("--outbound-addr6");
  if (outbound6 !== undefined) options.push(`outbound_addr6=${outbound6}`);
  if (argv.includes("--api-socket")) options.push("port_handler=slirp4netns");
  return { options, netnsPath };
}

/** A slirp4netns container whose slirp4netns still runs, from its helper file and command line. */
function slirp4netnsRecordOf(ctx: Where, id: string, marked: ReadonlySet<string>): ContainerRecord | undefined {
  const helpers = readHelperPids(ctx, id);
  const slirp = helpers.slirp4netns;
  if (!slirp || !running(slirp)) return undefined;
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${slirp.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
  const mode = slirp4netnsModeOf(argv);
  if (!mode) return undefined;
  const forwarder = helpers.portForwarder;
  return {
    id,
    name: null,
    state: "ready",
    mode: { kind: "slirp4netns", options: mode.options },
    netns: { path: mode.netnsPath, owned: marked.has(mode.netnsPath) },
    networks: [],
    ifnames: {},
    staticIP: null,
    staticMAC: null,
    ports: [],
    helpers: { slirp4netns: slirp.pid, portForwarder: forwarder && running(forwarder) ? forwarder.pid : null, pasta: null },
    createdAt: Date.now(),
  };
}

/**
 * Inserts a record for every container of this ctrnet found in the CNI cache, and for every slirp4netns
 * container whose slirp4netns runs; says how many, in words.
 */
export function rebuildFromSystem(ctx: Where, fresh: ContainerState, only?: string): string {
  const byContainer = new Map<string, CachedAttachment[]>();
  for (const entry of listCacheSync(ctx.cni.cacheDir)) {
    if (entry.owner !== ctx.cni.owner || (only !== undefined && entry.containerId !== only)) continue;
    byContainer.set(entry.containerId, [...(byContainer.get(entry.containerId) ?? []), entry]);
  }
  const marked = new Set(markedNetns(ctx));
  const records: (() => ContainerRecord | undefined)[] = [...byContainer].map(([id, entries]) => () => recordOf(ctx, id, entries, marked));
  for (const id of containersWithHelpers(ctx)) {
    if (!byContainer.has(id) && (only === undefined || id === only)) records.push(() => slirp4netnsRecordOf(ctx, id, marked));
  }
  const rebuilt: string[] = [];
  for (const record of records) {
    try {
      const rec = record();
      if (!rec) continue;
      fresh.insert(rec);
      rebuilt.push(rec.id);
    } catch (err) {
      log.debug(`a record could not be rebuilt: ${errorMessage(err)}`);
    }
  }
  if (rebuilt.length === 0) return "nothing of its containers was found to rebuild records from";
  return `rebuilt the records of ${rebuilt.length} container${rebuilt.length === 1 ? "" : "s"} from ctrnet's CNI cache, netns files and helpers (${rebuilt.join(", ")})`;
}

/**
 * A record that no longer reads back is replaced by one rebuilt from the system, as a damaged database
 * is; the rebuilt record, or undefined when nothing of the container was found (its row is gone then, and
 * `gc` collects what it described).
 */
export function replaceDamagedRecord(ctx: Where, state: ContainerState, id: string): ContainerRecord | undefined {
  state.transaction(() => {
    state.remove(id);
    rebuildFromSystem(ctx, state, id);
  });
  const rebuilt = state.find(id);
  log.warn(`the damaged record of container ${id} is ${rebuilt?.id === id ? "replaced by one rebuilt from the system" : "removed: nothing of the container was found to rebuild it from"}`);
  return rebuilt?.id === id ? rebuilt : undefined;
}

export function rebuilder(ctx: Where): RebuildRecords {
  return (fresh) => rebuildFromSystem(ctx, fresh);
}
