// Starting a container's dead helpers again through its driver, with the configuration its record keeps:
// what the supervisor does when one dies, and `reload` does on demand. Each attempt is noted in the
// container's helper ledger (restarts, when, and why the last one failed), which inspect shows.
import { CtrnetError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { netnsUsable } from "../netns/index.ts";
import { running } from "../process/supervise.ts";
import type { ContainerRecord, HelperKind } from "../state/index.ts";
import { type HelperPids, readHelperPids, writeHelperPids } from "../state/ledger.ts";
import type { Context } from "./context.ts";
import { HELPER_NAMES, START_ORDER } from "./helpers.ts";
import { driverOf, targetOf } from "./networks.ts";

/** The helpers written down in a container's ledger that are no longer running, in the order to start them. */
export function deadHelpers(ledger: HelperPids): HelperKind[] {
  return START_ORDER.filter((kind) => {
    const proc = ledger[kind];
    return proc !== undefined && !running(proc);
  });
}

function noteRestart(ctx: Context, id: string, kind: HelperKind, error?: string): void {
  const ledger = readHelperPids(ctx, id);
  const before = ledger.restarts?.[kind] ?? { count: 0 };
  const after = error === undefined ? { count: before.count + 1, lastAt: Date.now() } : { ...before, error };
  writeHelperPids(ctx, id, { ...ledger, restarts: { ...ledger.restarts, [kind]: after } });
}

/**
 * Starts the helpers of these kinds again through the container's driver, with the configuration its
 * record keeps, each noted in the ledger (a restart, or why it failed). Call with the container's lock
 * held. The dead one stays written down until its successor exists: a failed attempt leaves the
 * container degraded and the supervisor tries again. Every error.
 */
export async function restartHelpers(ctx: Context, rec: ContainerRecord, kinds: readonly HelperKind[]): Promise<unknown[]> {
  const driver = driverOf(ctx, rec);
  const netnsPath = rec.netns?.path;
  const errors: unknown[] = [];
  for (const kind of kinds) {
    try {
      if (!driver?.restartHelper) throw new CtrnetError(`network mode ${rec.mode.kind} cannot restart a ${HELPER_NAMES[kind]}`);
      if (netnsPath === undefined || !netnsUsable(netnsPath)) throw new CtrnetError(`its netns ${netnsPath ?? ""} is gone`);
      await driver.restartHelper(targetOf(ctx, ctx.state().get(rec.id), driver, 0, netnsPath), kind);
      noteRestart(ctx, rec.id, kind);
      log.info(`container ${rec.id}: its ${HELPER_NAMES[kind]} was gone and is running again`);
    } catch (err) {
      noteRestart(ctx, rec.id, kind, errorMessage(err));
      errors.push(err);
    }
  }
  return errors;
}
