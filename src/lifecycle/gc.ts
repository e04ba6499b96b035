// `ctrnet gc`: reconciles state with what exists after crashes and reboots. A damaged record is replaced
// by one rebuilt from the system. A record is torn down when its netns, adopted process, helper or
// shared-netns container is gone, or when it is still `creating` or `removing` while nobody holds its lock
// (the command that set it so died, or its teardown failed); it stays `removing` while the teardown fails
// and something a retry could remove is left. Then each network gets a CNI GC of the attachments ctrnet
// made that no record holds (never another runtime's), netns files ctrnet made that no record names are
// removed, the leases and rules of containers ctrnet made that nothing else knows of are swept by id (its
// lock files name them), and a rootless netns no attachment needs any more goes.
import { readdirSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { errorMessage } from "../errors.ts";
import { removeStaleWaiterSockets } from "../state/waiter-sockets.ts";
import type { ContainerRecord, ContainerState } from "../state/index.ts";
import type { Context } from "./context.ts";
import { adoptedProcess, containersWithHelpers, markedNetns, readHelperPids, unmarkNetns } from "../state/ledger.ts";
import { type HeldLock, tryContainerLock } from "../state/lock.ts";
import { sweepOrphans } from "../drivers/cni/index.ts";
import { NAME_PATTERN } from "../names.ts";
import { netnsOwner } from "./lookup.ts";
import { releaseShared } from "../drivers/select.ts";
import { netnsInode, netnsPresent, removeOwnedNetns } from "../netns/index.ts";
import { processAlive } from "../process/supervise.ts";
import { syncDnsErrors } from "./dns.ts";
import { deadHelper, helpersSupervised, stopHelpers } from "./helpers.ts";
import { netnsUsers } from "./netns-users.ts";
import { ensureNeededSupervisor, stopIdleSupervisors } from "./supervisor.ts";
import { leftBehind, teardownContainer } from "./teardown.ts";
import { replaceDamagedRecord } from "./rebuild.ts";
import type { GcReport } from "./types.ts";

/**
 * Why the record no longer describes a live container, or undefined if it does. A dead helper the
 * supervisor restarts is no reason: the container is degraded until it does.
 */
function staleReason(ctx: Context, state: ContainerState, rec: ContainerRecord): string | undefined {
  if (rec.state === "creating") return "left creating by a ctrnet process that died";
  if (rec.state === "removing") return "left removing by a teardown that failed or a ctrnet process that died";
  if (rec.netns && !netnsPresent(rec.netns.path)) return `its netns ${rec.netns.path} is gone`;
  const proc = adoptedProcess(ctx, rec.id);
  if (proc && !processAlive(proc)) return `process ${proc.pid} is gone`;
  const helper = helpersSupervised(ctx, rec.id) ? undefined : deadHelper(ctx, rec);
  if (helper !== undefined) return helper;
  try {
    netnsOwner(state, rec);
  } catch (err) {
    return errorMessage(err);
  }
  return undefined;
}

/**
 * A process other than the container's own helpers in the netns of a ready container: it is in use,
 * whatever else is wrong with it, and gc leaves it alone (a record left creating or removing is a set-up
 * or teardown cut short, which gc finishes).
 */
function userInside(ctx: Context, rec: ContainerRecord, users: () => Map<number, number[]>): number | undefined {
  if (rec.state !== "ready" || !rec.netns || !netnsPresent(rec.netns.path)) return undefined;
  const helpers = new Set(Object.values(rec.helpers));
  let inode: number;
  try {
    inode = netnsInode(rec.netns.path);
  } catch {
    return undefined;
  }
  return users().get(inode)?.find((pid) => !helpers.has(pid));
}

async function collectStale(ctx: Context, report: GcReport): Promise<void> {
  const state = ctx.state();
  let scanned: Map<number, number[]> | undefined;
  const users = () => (scanned ??= netnsUsers());
  // a record that cannot be read back is rebuilt from the system, or goes (what it described is collected below)
  for (const id of state.damaged()) {
    // an id that is no name is no path either, and no command can hold it: its row just goes
    if (!NAME_PATTERN.test(id)) {
      state.remove(id);
      report.containers.push(id);
      continue;
    }
    const lock = tryContainerLock(ctx, id);
    if (!lock) {
      report.busy.push(id);
      continue;
    }
    try {
      if (!replaceDamagedRecord(ctx, state, id)) report.containers.push(id);
    } finally {
      lock.release();
    }
  }
  for (const listed of state.list()) {
    const lock = tryContainerLock(ctx, listed.id);
    if (!lock) {
      report.busy.push(listed.id);
      continue;
    }
    try {
      const rec = state.find(listed.id);
      if (rec?.id !== listed.id) continue;
      const reason = staleReason(ctx, state, rec);
      if (reason === undefined) continue;
      const inside = userInside(ctx, rec, users);
      if (inside !== undefined) {
        report.kept.push({ id: rec.id, reason: `${reason}, but process ${inside} is in its netns` });
        continue;
      }
      const errors = await teardownContainer(ctx, rec, { force: true });
      report.errors.push(...errors.map((e) => `container ${rec.id} (${reason}): ${errorMessage(e)}`));
      // kept while a retry has something to remove; a record of what is gone or out of reach goes
      const left = errors.length ? await leftBehind(ctx, rec) : [];
      if (left.length) {
        if (rec.state !== "removing") state.update(rec.id, (r) => ({ ...r, state: "removing" }));
        report.errors.push(`container ${rec.id} is kept as removing for the next gc: ${left.join(", ")} left`);
        continue;
      }
      state.remove(rec.id);
      lock.discard();
      report.containers.push(rec.id);
    } finally {
      lock.release();
    }
  }
}

/** Helpers of containers whose record went while they could not be stopped (a failed `rm -f`). */
async function collectOrphanHelpers(ctx: Context, report: GcReport): Promise<void> {
  const state = ctx.state();
  for (const id of containersWithHelpers(ctx)) {
    const lock = tryContainerLock(ctx, id);
    // locked: a create is starting them right now
    if (!lock) continue;
    try {
      if (state.find(id)?.id === id) continue;
      // the lock file stays: it is the mark collectLockFiles sweeps the container's leases and rules by
      const errors = await stopHelpers(ctx, id);
      report.errors.push(...errors.map((e) => `helpers of removed container ${id}: ${errorMessage(e)}`));
    } finally {
      lock.release();
    }
  }
}

function collectOrphanNetns(ctx: Context, report: GcReport): void {
  const named = new Set(ctx.state().list().flatMap((r) => (r.netns ? [r.netns.path] : [])));
  for (const path of markedNetns(ctx)) {
    if (named.has(path)) continue;
    try {
      removeOwnedNetns(path);
      unmarkNetns(ctx, path);
      report.netns.push(path);
    } catch (err) {
      report.errors.push(`netns ${path}: ${errorMessage(err)}`);
    }
  }
}

/**
 * Valid: what records hold, plus every cached attachment of a container some command is working on
 * right now (a connect in progress caches its result before the record lists the network). Only
 * attachments this ctrnet made are collected: podman's, containerd's and CRI-O's share the cache.
 */
async function collectAttachments(ctx: Context, report: GcReport): Promise<void> {
  const { networks } = await ctx.cni.listNetworks();
  for (const network of networks) {
    try {
      const cached = await ctx.cni.cachedAttachments({ network: network.name });
      const records = ctx.state().list();
      const known = new Set(records.map((r) => r.id));
      const valid = records.flatMap((r) => r.networks.filter((n) => n.network === network.name).map((n) => ({ containerId: r.id, ifName: n.ifname })));
      for (const c of cached) {
        // another runtime's attachment is never ours to collect (cni.gc leaves it alone too)
        if (c.owner !== ctx.cni.owner || known.has(c.containerId)) continue;
        const lock = tryContainerLock(ctx, c.containerId);
        if (!lock) {
          valid.push({ containerId: c.containerId, ifName: c.ifName });
          continue;
        }
        lock.discard();
        lock.release();
      }
      const removed = await ctx.cni.gc(network, valid);
      report.attachments.push(...removed.map((k) => `${k.network}/${k.containerId}/${k.ifName}`));
    } catch (err) {
      report.errors.push(`CNI GC of network ${network.name}: ${errorMessage(err)}`);
    }
  }
}

/**
 * Lock files of ids no record names, left by a ctrnet killed while it held one (a held lock is someone's
 * work in progress, and stays). Each is ctrnet's own mark of a container it made: before it goes, what
 * that container may have left with nothing else to find it by (no record, no cache entry to DEL: a
 * create killed during its ADD, then the state database lost) is swept by its id: its address leases and
 * the iptables rules tagged with it. Ids of other runtimes never get here, so their leases and rules stay.
 */
async function collectLockFiles(ctx: Context, report: GcReport): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(join(ctx.runtimeDir, "locks"));
  } catch {
    return;
  }
  const known = new Set(ctx.state().list().map((r) => r.id));
  const locks = new Map<string, HeldLock>();
  for (const id of names) {
    if (known.has(id)) continue;
    const lock = tryContainerLock(ctx, id);
    if (lock) locks.set(id, lock);
  }
  try {
    // an attachment still cached is the CNI GC's to DEL (it failed this time, and is retried the next)
    const cached = new Set((await ctx.cni.cachedAttachments()).filter((c) => c.owner === ctx.cni.owner).map((c) => c.containerId));
    const orphans = new Set([...locks.keys()].filter((id) => !cached.has(id) && NAME_PATTERN.test(id)));
    let swept = true;
    if (orphans.size) {
      const { networks } = await ctx.cni.listNetworks();
      const sweep = sweepOrphans(networks, orphans, { rules: !ctx.rootless });
      report.leftovers.push(...sweep.removed);
      report.errors.push(...sweep.errors);
      swept = sweep.errors.length === 0;
    }
    // the mark stays while the sweep may have missed something, so the next gc sweeps again
    for (const [id, lock] of locks) if (swept || !orphans.has(id)) lock.discard();
  } finally {
    for (const lock of locks.values()) lock.release();
  }
}

/**
 * A supervisor that is gone (killed) while containers of its still need it is started again, and one
 * that nothing needs any more is stopped.
 */
async function superviseSurvivors(ctx: Context, report: GcReport): Promise<void> {
  try {
    await ensureNeededSupervisor(ctx);
  } catch (err) {
    report.errors.push(`helper supervisor: ${errorMessage(err)}`);
  }
  report.errors.push(...(await stopIdleSupervisors(ctx)).map((e) => `helper supervisor: ${errorMessage(e)}`));
}

/** Sockets crun's rootless createRuntime left for waiters that are gone (hook/rendezvous.ts). */
function collectWaiterSockets(ctx: Context, report: GcReport): void {
  try {
    report.sockets.push(...removeStaleWaiterSockets(ctx.runtimeDir));
  } catch (err) {
    report.errors.push(`hook waiter sockets: ${errorMessage(err)}`);
  }
}

export async function gc(ctx: Context): Promise<GcReport> {
  const report: GcReport = { containers: [], kept: [], netns: [], attachments: [], leftovers: [], sockets: [], busy: [], errors: [] };
  await collectStale(ctx, report);
  await collectOrphanHelpers(ctx, report);
  // Before the orphaned netns files go: the bridge plugin's DEL finds the addresses whose masquerade
  // rules it removes on the container's interface, so it needs the netns still there.
  await collectAttachments(ctx, report);
  collectOrphanNetns(ctx, report);
  collectWaiterSockets(ctx, report);
  await collectLockFiles(ctx, report);
  // a DNS server that serves no container any more stops (before the rootless netns it may run in goes,
  // and before the supervisor that would restart it is let go)
  report.errors.push(...(await syncDnsErrors(ctx)).map((e) => `DNS server: ${errorMessage(e)}`));
  await superviseSurvivors(ctx, report);
  report.errors.push(...(await releaseShared(ctx)).map((e) => `rootless netns: ${errorMessage(e)}`));
  return report;
}
