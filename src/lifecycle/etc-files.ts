// A container's /etc/resolv.conf and /etc/hosts from its network view (container/dns-files.ts generates them),
// written to its runtime directory, and bind-mounted over /etc in its mount namespace when its command
// starts (as `ip netns exec` does with /etc/netns/NAME).
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "../../ffi/fs.ts";
import { basename, join } from "node:path";
import { containerHosts, containerResolvConf, formatResolvConf, type HostEtc, pickHostResolvConf, type Reach, readHostEtc, replaceOwnHostsEntries } from "../container/dns-files.ts";
import { SHORT_ID_LENGTH } from "../container/dns-members.ts";
import { type EtcOptions, HOST_GATEWAY_VALUE, HOSTS_FILE_NONE } from "../container/etc-options.ts";
import { SEARCH_DOMAIN } from "../drivers/dns/zone.ts";
import { observeNetns } from "../drivers/observe.ts";
import { pastaMapGuestAddr } from "../drivers/pasta/driver.ts";
import { validateName } from "../names.ts";
import { UsageError } from "../errors.ts";
import { formatIP, parseIP } from "../ip/codec.ts";
import { type NetworkStatus, statusAddresses } from "../schema/network-status.ts";
import type { ContainerRecord } from "../state/index.ts";
import { hostReachableAddress } from "../networks/host.ts";
import { readRootlessNetnsState } from "../rootless/netns.ts";
import type { Context } from "./context.ts";
import { dnsServersOf, unservedNetworkDnsServers } from "./dns.ts";
import { networkView } from "./networks.ts";

/**
 * podman's containers.conf `host_containers_internal_ip`, from CTRNET_HOST_CONTAINERS_INTERNAL_IP: the address
 * host.containers.internal names whatever the mode, "none" for no entry (returned as ""); undefined when unset.
 */
export function configuredHostContainersInternalIP(env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const value = env.CTRNET_HOST_CONTAINERS_INTERNAL_IP;
  if (value === undefined || value === "") return undefined;
  if (value === "none") return "";
  const ip = parseIP(value);
  if (ip === null) throw new UsageError(`invalid CTRNET_HOST_CONTAINERS_INTERNAL_IP "${value}": expected an IP address or none`);
  return formatIP(ip);
}

/**
 * podman's containers.conf `base_hosts_file`, from CTRNET_BASE_HOSTS_FILE: a file whose entries every
 * container's /etc/hosts starts with ("none": none); undefined when unset (the host's localhost lines).
 */
export function configuredBaseHosts(env: Readonly<Record<string, string | undefined>> = process.env): string | undefined {
  const value = env.CTRNET_BASE_HOSTS_FILE;
  if (value === undefined || value === "") return undefined;
  if (value === "none") return "";
  if (!value.startsWith("/")) throw new UsageError(`invalid CTRNET_BASE_HOSTS_FILE "${value}": expected an absolute path or none`);
  try {
    return readFileSync(value, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read CTRNET_BASE_HOSTS_FILE ${value}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (err as Error).message}`);
  }
}

/**
 * The names of the container's own /etc/hosts lines, as podman's getHostsEntries gives them: its hostname
 * (--hostname, else its short id, podman's default hostname), then its name.
 */
export function ownHostsNames(record: ContainerRecord, hostname?: string): string[] {
  return [...new Set([hostname ?? record.id.slice(0, SHORT_ID_LENGTH), record.name ?? record.id])];
}

/** The generated files by the /etc name they are bound over. */
export const ETC_FILE_NAMES = ["resolv.conf", "hosts"] as const;
export type EtcFileName = (typeof ETC_FILE_NAMES)[number];
export type EtcFiles = Record<EtcFileName, string>;

/**
 * Both files for a container from its names and its network view (networks.ts networkView): the
 * statuses' addresses, gateways and DNS, whatever driver gave them.
 */
export function containerEtcFiles(
  record: ContainerRecord,
  view: { statuses: readonly NetworkStatus[]; reach: Reach },
  host: HostEtc,
  opts: EtcFileOptions = {},
): { files: EtcFiles; fellBack: boolean } {
  const { statuses } = view;
  const etc = opts.etc ?? {};
  const addresses = statuses.flatMap(statusAddresses);
  const gateways = statuses.flatMap((s) => s.interfaces.flatMap((i) => i.addresses.flatMap((a) => (a.gateway ? [a.gateway] : []))));
  const { conf, fellBack } = containerResolvConf({
    host: host.resolvConf,
    networks: statuses.map((s) => s.dns),
    reach: view.reach,
    ipv6: addresses.some((a) => a.includes(":") && !/^fe[89ab]/i.test(a)),
    preferred: opts.preferredNameservers,
    nameservers: etc.dns,
    dnsServers: opts.dnsServers,
    networkDnsServers: opts.networkDnsServers,
    keepHostServers: opts.keepHostServers,
    dnsDomain: SEARCH_DOMAIN,
    search: etc.dnsSearch,
    options: etc.dnsOptions,
  });
  // As podman: a bridge container reaches the host at its network's gateway; one that leaves through a
  // user-mode stack (slirp4netns, a rootless user's bridges) at one of the host's own addresses.
  const hostGateway = opts.hostAddress !== undefined ? opts.hostAddress || undefined : (gateways.find((g) => !g.includes(":")) ?? gateways[0]);
  const hosts = containerHosts({
    host: host.hosts,
    ...(etc.hostsFile !== undefined ? { base: baseHostsFile(etc.hostsFile) } : opts.baseHosts !== undefined ? { base: opts.baseHosts } : {}),
    addresses: opts.hostsAddresses ?? addresses,
    names: ownHostsNames(record, etc.hostname),
    gateway: hostGateway,
    extraHosts: (etc.addHosts ?? []).flatMap((h) => (h.address !== HOST_GATEWAY_VALUE ? [h] : hostGateway ? [{ name: h.name, address: hostGateway }] : [])),
  });
  return { files: { "resolv.conf": formatResolvConf(conf), hosts }, fellBack };
}

/** podman's --hosts-file, read each time the file is made; one gone since is no base at all. */
function baseHostsFile(hostsFile: string): string {
  if (hostsFile === HOSTS_FILE_NONE) return "";
  try {
    return readFileSync(hostsFile, "utf8");
  } catch {
    return "";
  }
}

export interface EtcFileOptions {
  preferredNameservers?: readonly string[];
  /** ctrnet's DNS server on the container's networks (their gateways), first in resolv.conf. */
  dnsServers?: readonly string[];
  /** podman's network `--dns` of its networks without ctrnet's DNS server: instead of the host's nameservers. */
  networkDnsServers?: readonly string[];
  /** The networks' nameservers are a user-mode stack's forwarder: the host's follow them (containerResolvConf). */
  keepHostServers?: boolean;
  /** podman's base_hosts_file read: its entries instead of the host's localhost lines. */
  baseHosts?: string;
  /** What host.containers.internal names; "" for nothing; the first network's gateway when absent. */
  hostAddress?: string;
  /** The addresses /etc/hosts gives the container's names, when not its networks' (none: 127.0.0.1). */
  hostsAddresses?: readonly string[];
  etc?: EtcOptions;
}

/**
 * Both files for the container as it is now: its networks' view, ctrnet's DNS server on its DNS-enabled
 * networks, the rootless netns's resolver for a rootless user's bridge container, and the user's options.
 */
export async function etcFilesOf(ctx: Context, rec: ContainerRecord, etc: EtcOptions = {}): Promise<{ files: EtcFiles; fellBack: boolean }> {
  // A rootless container on CNI networks reaches the outside through the rootless netns's slirp4netns.
  const rootlessNetns = ctx.rootless && rec.networks.length > 0 ? readRootlessNetnsState(ctx.rootlessNetns) : undefined;
  const rootlessDns = rootlessNetns?.dns;
  const view = networkView(ctx, rec);
  // podman's rule: a root bridge container reaches the host at its network's gateway (containerEtcFiles
  // picks it); behind a user-mode stack (slirp4netns, a rootless user's bridges), or on bridges without a
  // gateway, at one of the host's own addresses
  const userMode = rec.mode.kind === "slirp4netns" || (ctx.rootless && rec.mode.kind === "bridge");
  const gatewayless = rec.mode.kind === "bridge" && !view.statuses.some((s) => s.interfaces.some((i) => i.addresses.some((a) => a.gateway)));
  let hostAddress = userMode || gatewayless ? hostReachableAddress() : undefined;
  // podman 5 (#22653): behind a rootless netns whose way out is pasta, which copied the host's addresses
  // into it, one of those would not be routed to the host: a host address the namespace has not got, or
  // no entry
  if (ctx.rootless && rec.mode.kind === "bridge" && rootlessNetns?.program === "pasta") {
    const taken = observeNetns(ctx.rootlessNetns.netns);
    hostAddress = hostReachableAddress([rootlessNetns.ip, ...(taken ? statusAddresses(taken) : [])]) ?? "";
  }
  // pasta (podman 5's rule): --map-guest-addr's address where pasta has it; else a host address the
  // container does not have itself (pasta copied the host's), or no entry
  if (rec.mode.kind === "pasta") {
    hostAddress = pastaMapGuestAddr(rec.mode.options, ctx.runtimeDir) ?? hostReachableAddress(view.statuses.flatMap(statusAddresses)) ?? "";
  }
  // podman's getHostsEntries and GetHostContainersInternalIP: --network none names the container at
  // 127.0.0.1; in the host's netns, the host is 127.0.0.1
  if (rec.mode.kind === "host") hostAddress = "127.0.0.1";
  // containers.conf's host_containers_internal_ip wins over every rule above, as in podman
  const configured = configuredHostContainersInternalIP();
  if (configured !== undefined) hostAddress = configured;
  const baseHosts = configuredBaseHosts();
  return containerEtcFiles(rec, view, hostEtcFor(rec), {
    ...(baseHosts !== undefined ? { baseHosts } : {}),
    ...(rec.mode.kind === "none" ? { hostsAddresses: ["127.0.0.1"] } : {}),
    preferredNameservers: rootlessDns ? [rootlessDns] : [],
    dnsServers: await dnsServersOf(ctx, rec),
    networkDnsServers: await unservedNetworkDnsServers(ctx, rec),
    keepHostServers: rec.mode.kind === "slirp4netns" || rec.mode.kind === "pasta",
    ...(hostAddress !== undefined ? { hostAddress } : {}),
    etc,
  });
}

/**
 * The options a container's files are made from. One on another container's netns (container:ID) gets the
 * files of that container, its netns owner, as podman copies them: the owner's options, the joiner's own
 * saying only which files it leaves alone (its --dns and --add-host are refused).
 */
export function etcOptionsOf(owner: ContainerRecord, rec: ContainerRecord, etc: EtcOptions): EtcOptions {
  if (owner.id === rec.id) return etc;
  return { ...structuredClone(owner.etc ?? {}), ...(etc.noHosts ? { noHosts: true } : {}), ...(etc.noResolvConf ? { noResolvConf: true } : {}) };
}

/** Where `ip netns` keeps a named netns's own /etc files. */
const NETNS_ETC_DIR = "/etc/netns";

/**
 * The host's files, with the resolv.conf `ip netns` keeps for a named netns (/etc/netns/NAME/resolv.conf)
 * when the container joins one by path (ns:/run/netns/NAME), as podman (common's resolvconf) takes it.
 */
export function hostEtcFor(rec: ContainerRecord, netnsEtcDir = NETNS_ETC_DIR): HostEtc {
  const host = readHostEtc();
  if (rec.mode.kind !== "ns" || rec.mode.path.startsWith("/proc/")) return host;
  try {
    return { ...host, resolvConf: pickHostResolvConf(readFileSync(join(netnsEtcDir, basename(rec.mode.path), "resolv.conf"), "utf8"), undefined) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return host;
    throw err;
  }
}

export function etcFilesDir(ctx: { readonly runtimeDir: string }, id: string): string {
  return join(ctx.runtimeDir, "containers", validateName("container id", id));
}

/** The files ctrnet gives the container: --no-hosts leaves out hosts, --dns none resolv.conf. */
export function wantedEtcFiles(etc: EtcOptions = {}): EtcFileName[] {
  return ETC_FILE_NAMES.filter((name) => !(name === "hosts" ? etc.noHosts : etc.noResolvConf));
}

/** Only the files named. */
export function pickEtcFiles<T>(files: Readonly<Record<EtcFileName, T>>, names: readonly EtcFileName[]): Partial<Record<EtcFileName, T>> {
  return Object.fromEntries(names.map((name) => [name, files[name]]));
}

/**
 * Writes the files to the container's runtime directory (0700: only root or the rootless user looks in;
 * the container reads them through the bind mount) and returns their paths by /etc name. Only `names`
 * are written; one of the others left from an earlier write goes.
 */
export function writeEtcFiles(
  ctx: { readonly runtimeDir: string },
  id: string,
  contents: EtcFiles,
  names: readonly EtcFileName[] = ETC_FILE_NAMES,
): Partial<EtcFiles> {
  const dir = etcFilesDir(ctx, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths: Partial<EtcFiles> = {};
  for (const name of ETC_FILE_NAMES) {
    const path = join(dir, name);
    if (!names.includes(name)) {
      rmSync(path, { force: true });
      continue;
    }
    paths[name] = path;
    writeFileSync(path, contents[name], { mode: 0o644 });
  }
  return paths;
}

/**
 * After connect or disconnect: the files the container was given (`create`'s, `run`'s; not those
 * --no-hosts or --dns none left out, nor the OCI hook's) made again for its networks now, from the
 * options it was made with, as podman rewrites a running container's /etc/hosts and resolv.conf: its
 * addresses there and the nameservers of its DNS networks follow it. Written in place, so a running
 * `ctrnet run` command's bind mount sees them. A record of an older ctrnet, without its options: only
 * its own lines of the hosts file are changed.
 */
export async function refreshEtcFiles(ctx: Context, before: ContainerRecord, after: ContainerRecord): Promise<void> {
  const dir = etcFilesDir(ctx, after.id);
  const present = ETC_FILE_NAMES.filter((name) => existsSync(join(dir, name)));
  if (present.length === 0) return;
  let files: Partial<EtcFiles>;
  if (after.etc !== undefined) {
    files = (await etcFilesOf(ctx, after, after.etc)).files;
  } else {
    if (!present.includes("hosts")) return;
    const addresses = (rec: ContainerRecord) => rec.networks.flatMap((n) => (n.status ? statusAddresses(n.status) : []));
    const names = ownHostsNames(after);
    files = { hosts: replaceOwnHostsEntries(readFileSync(join(dir, "hosts"), "utf8"), addresses(before), addresses(after), names) };
  }
  for (const name of present) {
    const path = join(dir, name);
    const next = files[name];
    if (next !== undefined && readFileSync(path, "utf8") !== next) writeFileSync(path, next);
  }
}

/** The /etc/hostname `run` gives its command (podman's), beside resolv.conf and hosts; returns its path. */
export function writeHostnameFile(ctx: { readonly runtimeDir: string }, id: string, hostname: string): string {
  const dir = etcFilesDir(ctx, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, HOSTNAME_FILE);
  writeFileSync(path, `${hostname}\n`);
  return path;
}

const HOSTNAME_FILE = "hostname";

/** Removes what writeEtcFiles and writeHostnameFile wrote; the directory too once nothing else is in it. Missing files are fine. */
export function removeEtcFiles(ctx: { readonly runtimeDir: string }, id: string): void {
  const dir = etcFilesDir(ctx, id);
  for (const name of [...ETC_FILE_NAMES, HOSTNAME_FILE]) rmSync(join(dir, name), { force: true });
  try {
    rmdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTEMPTY") throw err;
  }
}
