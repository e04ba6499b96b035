// Undoing a container's network, as the seeds' teardownCNI + teardownNetNS, but going on past errors.
import type { ContainerRecord } from "../state/index.ts";
import { delNetwork } from "./attach.ts";
import type { Context } from "./context.ts";
import { removeEtcFiles } from "./etc-files.ts";
import { forgetProcess, unmarkNetns } from "./ledger.ts";
import { prepareDel } from "./recover.ts";
import { releaseUnusedRootlessNetns, usesRootlessNetns } from "./rootless-bridge.ts";
import { netnsUsable, removeOwnedNetns } from "../netns/index.ts";
import { stopHelpers } from "./helpers.ts";

export interface TeardownOptions {
  /**
   * Remove the netns even when a CNI DEL failed. Without it the netns stays, so that a retry can still
   * DEL inside it; with it, what a failed DEL left on the host goes at the next `ctrnet gc` (its cached
   * result stays).
   */
  force?: boolean;
  /** Where the netns is reached when not where the record says (create's undo, see CreateRequest.netnsVia). */
  netnsPath?: string;
}

/**
 * The helper processes (port forwarder, slirp4netns), CNI DEL of every network in reverse order, the
 * rootless netns if this was its last user, then the netns if ctrnet owns it. Returns every error.
 */
export async function teardownContainer(ctx: Context, rec: ContainerRecord, opts: TeardownOptions = {}): Promise<unknown[]> {
  const errors = await stopHelpers(ctx, rec.id);
  const reach = opts.netnsPath ?? rec.netns?.path;
  const netnsPath = reach !== undefined && netnsUsable(reach) ? reach : undefined;
  for (let i = rec.networks.length - 1; i >= 0; i--) {
    const attachment = rec.networks[i]!;
    try {
      const target = await prepareDel(ctx, rec, attachment, netnsPath);
      try {
        await delNetwork(ctx, rec, attachment, target.netnsPath, i === 0 ? { ports: rec.ports } : {});
      } finally {
        target.cleanup();
      }
    } catch (err) {
      errors.push(err);
    }
  }
  if (usesRootlessNetns(ctx, rec)) errors.push(...(await releaseUnusedRootlessNetns(ctx)));
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
