// Undoing a container's network, as the seeds' teardownCNI + teardownNetNS, but going on past errors.
import { netnsUsable, removeOwnedNetns } from "../netns/index.ts";
import type { ContainerRecord } from "../state/index.ts";
import { forgetProcess, unmarkNetns } from "../state/ledger.ts";
import type { Context } from "./context.ts";
import { removeEtcFiles } from "./etc-files.ts";
import { syncDnsErrors } from "./dns.ts";
import { stopHelpers } from "./helpers.ts";
import { tearDownNetworks } from "./networks.ts";

export interface TeardownOptions {
  /**
   * Remove the netns even when a network's teardown failed. Without it the netns stays, so that a retry
   * can still tear down inside it; with it, what a failed CNI DEL left on the host goes at the next
   * `ctrnet gc` (its cached result stays).
   */
  force?: boolean;
  /** Where the netns is reached when not where the record says (create's undo; see NetnsRequest's via). */
  netnsPath?: string;
}

/**
 * The helper processes (port forwarder, slirp4netns), every network through its driver in reverse order
 * (and what the driver shares, such as the rootless netns, if this was its last user), then the netns if
 * ctrnet owns it. Returns every error.
 */
export async function teardownContainer(ctx: Context, rec: ContainerRecord, opts: TeardownOptions = {}): Promise<unknown[]> {
  const errors = await stopHelpers(ctx, rec.id);
  // its names stop resolving before its addresses can go to another container (and the last one stops the server)
  if (rec.networks.length) errors.push(...(await syncDnsErrors(ctx, { id: rec.id })));
  const reach = opts.netnsPath ?? rec.netns?.path;
  const netnsPath = reach !== undefined && netnsUsable(reach) ? reach : undefined;
  errors.push(...(await tearDownNetworks(ctx, rec, netnsPath)));
  if (errors.length && !opts.force) return errors;
  forgetProcess(ctx, rec.id);
  // Written by `run` and the hook; whoever tears the container down (rm, gc after a crash) removes them.
  try {
    removeEtcFiles(ctx, rec.id);
  } catch (err) {
    errors.push(err);
  }
  if (rec.netns?.owned) {
    try {
      removeOwnedNetns(rec.netns.path);
      unmarkNetns(ctx, rec.netns.path);
    } catch (err) {
      errors.push(err);
    }
  }
  return errors;
}
