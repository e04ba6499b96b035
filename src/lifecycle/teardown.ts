// Undoing a container's network, as the seeds' teardownCNI + teardownNetNS, but going on past errors.
import { existsSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { type CachedAttachment, type NetworkConfig, OWN_PLUGIN_TYPE } from "../drivers/cni/index.ts";
import { netnsPresent, netnsUsable, removeOwnedNetns } from "../netns/index.ts";
import { running } from "../process/supervise.ts";
import type { ContainerRecord } from "../state/index.ts";
import { forgetProcess, readHelperPids, unmarkNetns } from "../state/ledger.ts";
import type { Context } from "./context.ts";
import { removeEtcFiles } from "./etc-files.ts";
import { syncDnsErrors } from "./dns.ts";
import { START_ORDER, stopHelpers } from "./helpers.ts";
import { driverOf, tearDownNetworks } from "./networks.ts";
import { phase } from "../trace.ts";

export interface TeardownOptions {
  /**
   * Remove the netns even when a network's teardown failed. Without it the netns stays, so that a retry
   * can still tear down inside it (unless its driver needs nothing inside it: then it went first); with
   * it, what a failed CNI DEL left on the host goes at the next `ctrnet gc` (its cached result stays).
   */
  force?: boolean;
  /** Where the netns is reached when not where the record says (create's undo; see NetnsRequest's via). */
  netnsPath?: string;
}

/**
 * The helper processes (port forwarder, slirp4netns), every network through its driver in reverse order
 * (and what the driver shares, such as the rootless netns, if this was its last user), then the netns if
 * ctrnet owns it (before the networks, when their driver needs nothing inside it). Returns every error.
 */
export async function teardownContainer(ctx: Context, rec: ContainerRecord, opts: TeardownOptions = {}): Promise<unknown[]> {
  const errors = await stopHelpers(ctx, rec.id);
  phase("teardown: helpers stopped");
  // A netns ctrnet made, whose networks need nothing inside it to go, goes first: the kernel then removes
  // its links (the veth pairs) from a worker of its own while this goes on, instead of this process
  // waiting for each removal's RCU grace periods (a third of an rm's time, measured on a 2-core VM).
  let released = false;
  if (rec.netns?.owned && opts.netnsPath === undefined && (await tearsDownFromHost(ctx, rec))) {
    released = removeNetnsOf(rec.netns.path, ctx, errors);
    phase("teardown: netns removed first");
  }
  // its names stop resolving before its addresses can go to another container (and the last one stops the server)
  if (rec.networks.length) errors.push(...(await syncDnsErrors(ctx, { leaving: { id: rec.id }, changed: rec.networks.map((n) => n.network) })));
  phase("teardown: DNS synced");
  const reach = opts.netnsPath ?? rec.netns?.path;
  const netnsPath = !released && reach !== undefined && netnsUsable(reach) ? reach : undefined;
  errors.push(...(await tearDownNetworks(ctx, rec, netnsPath)));
  phase("teardown: networks torn down");
  if (errors.length && !opts.force) return errors;
  forgetProcess(ctx, rec.id);
  // Written by `run` and the hook; whoever tears the container down (rm, gc after a crash) removes them.
  try {
    removeEtcFiles(ctx, rec.id);
  } catch (err) {
    errors.push(err);
  }
  if (rec.netns?.owned && !released) removeNetnsOf(rec.netns.path, ctx, errors);
  phase("teardown: netns removed");
  return errors;
}

/** The driver's tearsDownFromHost; false when it cannot tell (a damaged configuration: the DEL reports it). */
async function tearsDownFromHost(ctx: Context, rec: ContainerRecord): Promise<boolean> {
  try {
    return (await driverOf(ctx, rec)?.tearsDownFromHost?.(rec)) === true;
  } catch {
    return false;
  }
}

/** A netns ctrnet owns, unmounted and forgotten; false (its error in errors) when it could not be. */
function removeNetnsOf(path: string, ctx: Context, errors: unknown[]): boolean {
  try {
    removeOwnedNetns(path);
    unmarkNetns(ctx, path);
    return true;
  } catch (err) {
    errors.push(err);
    return false;
  }
}

/**
 * What of the container a teardown can still reach: a netns file ctrnet made, a helper process still
 * running, a network attachment ctrnet made whose configuration it still has (cached at ADD or in the
 * config dir). Empty when nothing is: a record naming only what is gone or out of reach describes
 * nothing a retry could remove, so `rm -f` and `gc` drop it rather than fail on it forever.
 */
export async function leftBehind(ctx: Context, rec: ContainerRecord): Promise<string[]> {
  const left: string[] = [];
  if (rec.netns?.owned && netnsPresent(rec.netns.path)) left.push(`netns ${rec.netns.path}`);
  const ledger = readHelperPids(ctx, rec.id);
  for (const kind of START_ORDER) {
    const proc = ledger[kind];
    if (proc && running(proc)) left.push(`${kind} (pid ${proc.pid})`);
  }
  for (const cached of await ctx.cni.cachedAttachments({ containerId: rec.id })) {
    if (cached.owner !== ctx.cni.owner || cached.containerId !== rec.id) continue;
    if (await reachable(ctx, cached)) left.push(`network ${cached.network} (${cached.ifName})`);
  }
  return left;
}

/** A DEL can run: the attachment's configuration is known (cached at ADD, else the current file) and every plugin it names is installed. */
async function reachable(ctx: Context, cached: CachedAttachment): Promise<boolean> {
  let network: NetworkConfig | undefined;
  try {
    network = ctx.cni.cachedNetwork(cached);
  } catch {
    // a damaged cached configuration: the current file may still do
  }
  try {
    network ??= await ctx.cni.loadNetwork(cached.network);
  } catch {
    return false;
  }
  return network.plugins.every((p) => p.type === OWN_PLUGIN_TYPE || ctx.cni.pluginPath.some((dir) => existsSync(join(dir, p.type))));
}
