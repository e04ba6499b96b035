// `ctrnet gc`: reconciles state with what exists after crashes and reboots. A record is torn down when
// its netns, adopted process, helper or shared-netns container is gone, or when it is still `creating` or
// `removing` while nobody holds its lock (the command that set it so died). Then each network gets a CNI GC
// of the attachments ctrnet made that no record holds (never another runtime's), netns files ctrnet made
// that no record names are removed, and a rootless netns no attachment needs any more goes.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../errors.ts";
import { removeStaleWaiterSockets } from "../state/waiter-sockets.ts";
import type { ContainerRecord, ContainerState } from "../state/index.ts";
import type { Context } from "./context.ts";
import { adoptedProcess, containersWithHelpers, markedNetns, unmarkNetns } from "../state/ledger.ts";
import { tryContainerLock } from "../state/lock.ts";
import { netnsOwner } from "./lookup.ts";
import { releaseShared } from "../drivers/select.ts";
import { netnsPresent, removeOwnedNetns } from "../netns/index.ts";
import { processAlive } from "../process/supervise.ts";
import { syncDnsErrors } from "./dns.ts";
import { deadHelper, stopHelpers } from "./helpers.ts";
import { teardownContainer } from "./teardown.ts";
import type { GcReport } from "./types.ts";

/** Why the record no longer describes a live container, or undefined if it does. */
function staleReason(ctx: Context, state: ContainerState, rec: ContainerRecord): string | undefined {
  if (rec.state !== "ready") return `left ${rec.state} by a ctrnet process that died`;
  if (rec.netns && !netnsPresent(rec.netns.path)) return `its netns ${rec.netns.path} is gone`;
  const proc = adoptedProcess(ctx, rec.id);
  if (proc && !processAlive(proc)) return `process ${proc.pid} is gone`;
  const helper = deadHelper(ctx, rec);
  if (helper !== undefined) return helper;
  try {
    netnsOwner(state, rec);
  } catch (err) {
    return errorMessage(err);
  }
  return undefined;
}

async function collectStale(ctx: Context, report: GcReport): Promise<void> {
  const state = ctx.state();
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
      const errors = await teardownContainer(ctx, rec, { force: true });
      state.remove(rec.id);
      lock.discard();
      report.containers.push(rec.id);
      report.errors.push(...errors.map((e) => `container ${rec.id} (${reason}): ${errorMessage(e)}`));
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
      lock.discard();
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
 * Lock files of ids no record names, left by a ctrnet killed while it held one (a held lock is
 * someone's work in progress, and stays).
 */
function collectLockFiles(ctx: Context, report: GcReport): void {
  let names: string[];
  try {
    names = readdirSync(join(ctx.runtimeDir, "locks"));
  } catch {
    return;
  }
  const known = new Set(ctx.state().list().map((r) => r.id));
  for (const id of names) {
    if (known.has(id)) continue;
    const lock = tryContainerLock(ctx, id);
    if (!lock) continue;
    lock.discard();
    lock.release();
  }
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
  const report: GcReport = { containers: [], netns: [], attachments: [], sockets: [], busy: [], errors: [] };
  await collectStale(ctx, report);
  await collectOrphanHelpers(ctx, report);
  // Before the orphaned netns files go: the bridge plugin's DEL finds the addresses whose masquerade
  // rules it removes on the container's interface, so it needs the netns still there.
  await collectAttachments(ctx, report);
  collectOrphanNetns(ctx, report);
  collectWaiterSockets(ctx, report);
  collectLockFiles(ctx, report);
  // a DNS server that serves no container any more stops (before the rootless netns it may run in goes)
  report.errors.push(...(await syncDnsErrors(ctx)).map((e) => `DNS server: ${errorMessage(e)}`));
  report.errors.push(...(await releaseShared(ctx)).map((e) => `rootless netns: ${errorMessage(e)}`));
  return report;
}
