// ctrnet's DNS server (`ctrnet _dns`) through the lifecycle: after every change of who is on a DNS-enabled
// network (create, rm, connect, disconnect), that container's member file is written again from its record
// and the running server re-reads that file alone (SIGHUP; the configuration names it) before the command
// goes on, so a create costs the same beside a thousand containers as beside none; the first container on
// such a network starts it (on every record's member file, written again), the last one stops it. One
// server serves every network of the installation: root's in the host's netns, on each network's gateway;
// a rootless user's inside the rootless netns, with the rootless netns's slirp4netns resolver as its
// upstream. When it dies, the helper supervisor of the user namespace it was launched from starts it again
// on the same configuration (restartDeadDns); failing that, the next command does (reviveDns).
import { existsSync } from "../../ffi/fs.ts";
import * as libc from "../../ffi/libc.ts";
import { dnsMemberOf, dnsNameservers, dnsNetworkFrames, type Leaving, type ServedNetwork } from "../container/dns-members.ts";
import { ctrnetDnsEnabled } from "../drivers/cni/conflist.ts";
import type { NetworkConfig } from "../drivers/cni/config.ts";
import { dnsConfigUnchanged, dnsMemberKey, dnsMemberKeys, readDnsMember, readDnsStatus, updateDnsServer, writeDnsConfig, writeDnsMember } from "../drivers/dns/config.ts";
import {
  type DnsHelperPaths,
  dnsHelperPaths,
  dnsHelperProcess,
  dnsHelperRunning,
  dnsRestarts,
  launchDnsHelper,
  noteDnsRestart,
  stopDnsHelper,
  waitForDnsHelper,
} from "../drivers/dns/start.ts";
import { errorMessage } from "../errors.ts";
import { formatCidr } from "../ip/codec.ts";
import { log } from "../log.ts";
import { netnsUsable, openNetns } from "../netns/index.ts";
import { gatewayOnBridge, networkDnsServers, networkInternal, networkSubnets } from "../networks/model.ts";
import { readRootlessNetnsState } from "../rootless/netns.ts";
import type { DnsConfigInput } from "../schema/dns.ts";
import type { ContainerRecord } from "../state/index.ts";
import { running, type TrackedProcess } from "../process/supervise.ts";
import { userNamespaceId } from "../process/user-namespace.ts";
import { tryLock, withHeldLock, withLock } from "../state/lock.ts";
import type { Context } from "./context.ts";

export function dnsPaths(ctx: Context): DnsHelperPaths {
  return dnsHelperPaths(ctx.runtimeDir);
}

/**
 * ctrnet's server answers on it: `network create` turned it on, no dnsname of its own answers there, and
 * its bridge holds the gateway to listen on (not an internal network of the reference chain, whose bridge
 * has no address: podman 4's CNI backend has no DNS there either).
 */
export function servedByCtrnet(config: NetworkConfig): boolean {
  return ctrnetDnsEnabled(config.bytes) && !config.plugins.some((p) => p.type === "dnsname") && gatewayOnBridge(config);
}

async function servedNetworks(ctx: Context): Promise<ServedNetwork[]> {
  const { networks } = await ctx.cni.listNetworks();
  return networks.filter(servedByCtrnet).map(servedNetwork);
}

/**
 * What the server's configuration says of a network beyond its name is read from its configuration when
 * first asked for: a create on a network the server does not serve asks for none of it.
 */
function servedNetwork(n: NetworkConfig): ServedNetwork {
  let details: Omit<ServedNetwork, "name"> | undefined;
  const read = (): Omit<ServedNetwork, "name"> => {
    if (details === undefined) {
      const dnsServers = networkDnsServers(n);
      details = { subnets: networkSubnets(n).map(formatCidr), internal: networkInternal(n), ...(dnsServers.length ? { dnsServers } : {}) };
    }
    return details;
  };
  return {
    name: n.name,
    get subnets() {
      return read().subnets;
    },
    get internal() {
      return read().internal;
    },
    get dnsServers() {
      return read().dnsServers;
    },
  };
}

/** The gateways of the container's DNS-served networks: its resolv.conf's nameservers. */
export async function dnsServersOf(ctx: Context, rec: ContainerRecord): Promise<string[]> {
  if (!rec.networks.length) return [];
  // their names alone (what else servedNetworks has of each is read only when asked for)
  const served = new Set((await servedNetworks(ctx)).map((n) => n.name));
  return dnsNameservers(rec, served);
}

/**
 * podman's network `--dns` servers of the container's networks that ctrnet's DNS server does not serve
 * (DNS disabled): its resolv.conf names them instead of the host's. On served networks the server forwards to them.
 */
export async function unservedNetworkDnsServers(ctx: Context, rec: ContainerRecord): Promise<string[]> {
  if (!rec.networks.length) return [];
  const { networks } = await ctx.cni.listNetworks();
  const mine = new Set(rec.networks.map((n) => n.network));
  return [...new Set(networks.filter((n) => mine.has(n.name) && !servedByCtrnet(n)).flatMap(networkDnsServers))];
}

/**
 * Launches the server on the configuration written, in this user namespace, whose helper supervisor
 * restarts it when it dies (see restartDeadDns).
 */
function launchOnConfig(ctx: Context, paths: DnsHelperPaths): void {
  const supervisedIn = userNamespaceId();
  if (!ctx.rootless) {
    launchDnsHelper(paths, { supervisedIn });
    return;
  }
  const fd = openNetns(ctx.rootlessNetns.netns);
  try {
    launchDnsHelper(paths, { netnsFd: fd, supervisedIn });
  } finally {
    libc.close(fd);
  }
}

/**
 * Root's server asks the host's resolvers (it reads them at each reload); a rootless user's, inside the
 * rootless netns, asks that namespace's slirp4netns resolver, which reaches the host's.
 */
function configOf(ctx: Context, networks: DnsConfigInput["networks"]): Omit<DnsConfigInput, "generation"> {
  if (!ctx.rootless) return { networks, port: 53 };
  const dns = readRootlessNetnsState(ctx.rootlessNetns)?.dns;
  return { networks, port: 53, upstreams: dns ? [{ address: dns, port: 53 }] : [] };
}

/** Which container changed: its record alone is read (none: every record is). */
export interface SyncTarget {
  /** The container whose networks, names or addresses changed. */
  id?: string;
  /** A container (or one network of it) about to be torn down, whose names go first; its id is the target's. */
  leaving?: Leaving;
  /** The served networks prestartDns read, if it did. */
  served?: ServedNetworks;
  /**
   * The networks of the container that changed; when none is served (whether or not a server runs for
   * others), the sync costs one read of the network list.
   */
  changed?: readonly string[];
}

/**
 * Every record's member file written again (and those of containers gone removed): what a server started or
 * reloaded whole serves. Returns how many there are.
 */
function writeAllMembers(ctx: Context, paths: DnsHelperPaths, served: ServedNetwork[], leaving: Leaving | undefined): number {
  const stale = new Set(dnsMemberKeys(paths.config));
  let count = 0;
  for (const rec of ctx.state().list()) {
    const member = dnsMemberOf(rec, served, leaving);
    if (!member) continue;
    const key = dnsMemberKey(rec.id);
    writeDnsMember(paths.config, key, member);
    stale.delete(key);
    count++;
  }
  for (const key of stale) writeDnsMember(paths.config, key, undefined);
  return count;
}

/**
 * Call with the lock held: the server brought in line with the records, by a reload of the one member that
 * changed when the target names it and a server runs, else from every record (started when none runs).
 */
async function syncLocked(ctx: Context, target: SyncTarget): Promise<void> {
  const paths = dnsPaths(ctx);
  const served = target.served?.served ?? (await servedNetworks(ctx));
  const { changed, leaving } = target;
  if (changed !== undefined && !served.some((n) => changed.includes(n.name))) return;
  if (served.length === 0 && !existsSync(paths.dir)) return;
  const frame = configOf(ctx, dnsNetworkFrames(served));
  let running = dnsHelperRunning(paths);
  // one launched by prestartDns may still be starting: SIGHUP is its to take once it has said so
  if (running && !readDnsStatus(paths.config)) await waitForDnsHelper(paths);
  // a server of an older ctrnet (its status does not count members) reads no member files: it is replaced
  if (running && readDnsStatus(paths.config)?.members === undefined) {
    await stopDnsHelper(paths);
    running = undefined;
  }
  const id = leaving?.id ?? target.id;
  if (!running || id === undefined) {
    if (writeAllMembers(ctx, paths, served, leaving) === 0) {
      if (existsSync(paths.dir)) await stopDnsHelper(paths);
      return;
    }
    if (!running) {
      writeDnsConfig(paths.config, frame);
      launchOnConfig(ctx, paths);
      await waitForDnsHelper(paths);
      return;
    }
    const status = await updateDnsServer(paths.config, running.pid, frame);
    for (const e of status.errors) log.debug(`DNS server: ${e}`);
    return;
  }
  // the one container: its record alone (none when it leaves whole)
  const rec = leaving !== undefined && leaving.network === undefined ? undefined : ctx.state().findExact(id);
  const key = dnsMemberKey(id);
  const wrote = writeDnsMember(paths.config, key, rec && dnsMemberOf(rec, served, leaving));
  let status = readDnsStatus(paths.config);
  if (wrote || !dnsConfigUnchanged(paths.config, frame)) {
    status = await updateDnsServer(paths.config, running.pid, { ...frame, changed: wrote ? [key] : [] });
    for (const e of status.errors) log.debug(`DNS server: ${e}`);
  }
  // the last container gone (or, started ahead of a create that failed, none came): so is the server
  if (status?.members === 0) await stopDnsHelper(paths);
}

/**
 * Before a container's networks are set up: when one of them is served and no server runs, the server is
 * launched now (on what the records say so far), so that its start-up overlaps the set-up instead of
 * adding to it; syncDns afterwards gives it the new container. Costs one read of the network list otherwise.
 */
export async function prestartDns(ctx: Context, networkNames: readonly string[]): Promise<ServedNetworks | undefined> {
  const paths = dnsPaths(ctx);
  if (networkNames.length === 0 || dnsHelperRunning(paths)) return undefined;
  const served = await servedNetworks(ctx);
  if (!served.some((n) => networkNames.includes(n.name))) return { served };
  // A rootless user's server runs in the rootless netns, which the set-up makes (under its own lock: a
  // concurrent first command may have its file there, not yet a namespace): syncDns starts it then.
  if (ctx.rootless && !netnsUsable(ctx.rootlessNetns.netns)) return { served };
  try {
    await withLock(paths.lock, () => {
      if (dnsHelperRunning(paths)) return;
      writeAllMembers(ctx, paths, served, undefined);
      writeDnsConfig(paths.config, configOf(ctx, dnsNetworkFrames(served)));
      launchOnConfig(ctx, paths);
    });
  } catch (err) {
    // only a head start: syncDns, after the set-up, starts the server or says why it cannot
    log.debug(`the DNS server was not started ahead of the set-up: ${errorMessage(err)}`);
  }
  return { served };
}

/** The served networks prestartDns read, for the syncDns of the same command (one read of the list less). */
export interface ServedNetworks {
  served: ServedNetwork[];
}

/**
 * Brings the server in line with the records: call after a container's networks changed, naming it (see
 * SyncTarget), or with no target after what concerns every container (a network's DNS servers).
 */
export async function syncDns(ctx: Context, target: SyncTarget = {}): Promise<void> {
  // a create none of whose networks prestartDns found served: syncLocked would change nothing
  if (target.served && target.changed && !target.served.served.some((n) => target.changed!.includes(n.name))) return;
  // nor for networks none of which is served now (an rm's): found without the lock, or its file
  if (!target.served && target.changed && !(await servedNetworks(ctx)).some((n) => target.changed!.includes(n.name))) return;
  const paths = dnsPaths(ctx);
  await withHeldLock(paths.lock, async (lock) => {
    await syncLocked(ctx, target);
    // no server left to guard: the lock file goes, as a removed container's does (a ctrnet waiting on it
    // finds the file at the path replaced or gone, and locks the one there now: state/lock.ts attempt)
    if (!existsSync(paths.dir)) lock.discard();
  });
}

/** For teardown and gc: the errors instead of a throw. */
export async function syncDnsErrors(ctx: Context, target: SyncTarget = {}): Promise<unknown[]> {
  try {
    await syncDns(ctx, target);
    return [];
  } catch (err) {
    return [err];
  }
}

/**
 * A server that should run (its configuration is there) but died is started again, on what the records
 * say now: any ctrnet command that opens the state calls this, so a kill -9 lasts until the next command. Costs
 * one stat when no server is configured.
 */
export async function reviveDns(ctx: Context): Promise<void> {
  const paths = dnsPaths(ctx);
  if (!existsSync(paths.config) || dnsHelperRunning(paths)) return;
  // a rootless user's server lives in the rootless netns, reached only from the user's namespace
  if (ctx.rootless && (process.geteuid?.() !== 0 || !netnsUsable(ctx.rootlessNetns.netns))) return;
  try {
    await withLock(paths.lock, async () => {
      if (dnsHelperRunning(paths)) return;
      log.warn("the DNS server for container names is gone; starting it again");
      await syncLocked(ctx, {});
      if (dnsHelperRunning(paths)) noteDnsRestart(paths);
    });
  } catch (err) {
    log.warn(`cannot start the DNS server for container names again: ${errorMessage(err)}`);
  }
}

/**
 * True while the supervisor of user namespace userns has a DNS server to keep running: one is configured
 * and was launched from that namespace. Costs a stat when none is configured.
 */
export function dnsSupervisedBy(ctx: Context, userns: number): boolean {
  const paths = dnsPaths(ctx);
  return existsSync(paths.config) && dnsHelperProcess(paths)?.supervisedIn === userns;
}

/** The server the supervisor of userns watches: while it runs, its death wakes the supervisor. */
export function dnsServerToWatch(ctx: Context, userns: number): TrackedProcess | undefined {
  const paths = dnsPaths(ctx);
  if (!existsSync(paths.config)) return undefined;
  const proc = dnsHelperProcess(paths);
  return proc?.supervisedIn === userns ? { pid: proc.pid, startTime: proc.startTime } : undefined;
}

/**
 * The supervisor's part: a server of this user namespace that died is started again on the configuration
 * it served (the records' own, which every command keeps written) and waited for until it answers; the
 * restart, or why it failed, is noted for inspect. "busy" when a command holds the server's lock (it
 * starts or stops the server itself: look again once it is done); a failure throws, the configuration
 * stays for the next attempt.
 */
export async function restartDeadDns(ctx: Context, userns: number): Promise<"running" | "restarted" | "busy"> {
  const paths = dnsPaths(ctx);
  const proc = dnsHelperProcess(paths);
  if (!existsSync(paths.config) || proc?.supervisedIn !== userns || running(proc)) return "running";
  const lock = tryLock(paths.lock);
  if (!lock) return "busy";
  try {
    // looked at again under the lock: a command may have stopped or replaced it meanwhile
    if (!existsSync(paths.config)) {
      // stopped for good: the lock file goes with it, as syncDns has it (this attempt may have made it again)
      if (!existsSync(paths.dir)) lock.discard();
      return "running";
    }
    const now = dnsHelperProcess(paths);
    if (now?.supervisedIn !== userns || running(now)) return "running";
    try {
      launchOnConfig(ctx, paths);
      await waitForDnsHelper(paths, { keep: true });
    } catch (err) {
      noteDnsRestart(paths, errorMessage(err));
      throw err;
    }
    noteDnsRestart(paths);
    return "restarted";
  } finally {
    lock.release();
  }
}

/** For inspect: the DNS server serving a container (it has a member file), its restarts. */
export function dnsServerOf(ctx: Context, rec: ContainerRecord): { pid: number; running: boolean; restarts: number; lastRestart?: number; restartError?: string } | undefined {
  if (!rec.networks.length) return undefined;
  const paths = dnsPaths(ctx);
  try {
    if (!readDnsMember(paths.config, dnsMemberKey(rec.id))) return undefined;
  } catch {
    return undefined;
  }
  const proc = dnsHelperProcess(paths);
  if (!proc) return undefined;
  const restarts = dnsRestarts(paths);
  return {
    pid: proc.pid,
    running: running(proc),
    restarts: restarts.count,
    ...(restarts.lastAt !== undefined ? { lastRestart: restarts.lastAt } : {}),
    ...(restarts.error !== undefined ? { restartError: restarts.error } : {}),
  };
}
