// `ctrnet rm`: teardownNetNS, then the record. Past errors it keeps going and reports them all. A container
// whose teardown failed keeps its record, in state `removing`, so that `rm` or `gc` runs it again: without
// --force with its netns too; with --force the netns goes, and the record stays only while something a
// retry could remove is still there (leftBehind), so a record of what is gone never blocks `rm -f`.
import { ErrorList, errorMessage, UsageError } from "../errors.ts";
import { phase } from "../trace.ts";
import { log } from "../log.ts";
import type { Context } from "./context.ts";
import { withContainerLock } from "../state/lock.ts";
import { type ContainerRecord, DamagedRecordError } from "../state/index.ts";
import { replaceDamagedRecord } from "./rebuild.ts";
import { findExact } from "./lookup.ts";
import { readHelperPids } from "../state/ledger.ts";
import { releaseHeldPorts, stopIdleSupervisors } from "./supervisor.ts";
import { leftBehind, teardownContainer } from "./teardown.ts";
import type { RemoveOptions } from "./types.ts";

export async function removeContainer(ctx: Context, idOrName: string, opts: RemoveOptions = {}): Promise<void> {
  const state = ctx.state();
  let found: ContainerRecord | undefined;
  try {
    found = opts.force ? state.find(idOrName) : state.get(idOrName);
  } catch (err) {
    if (!(err instanceof DamagedRecordError && opts.force)) throw err;
    found = replaceDamagedRecord(ctx, state, err.id);
  }
  phase("rm: record found");
  if (!found) return;
  const id = found.id;
  const heldPorts = !ctx.rootless && found.ports.length > 0 && readHelperPids(ctx, id).holdsPorts === true;
  try {
    await removeLocked(ctx, id, opts);
  } finally {
    // The supervisor of its helpers goes with the last container it had.
    for (const err of await stopIdleSupervisors(ctx)) log.warn(errorMessage(err));
    phase("rm: idle supervisors stopped");
    // one that stays lets go of the ports this container published before rm returns
    if (heldPorts) await releaseHeldPorts(ctx, id);
    phase("rm: held ports released");
  }
}

/** podman's --replace: the containers these exact names or ids name go first (rm -f), if there are any. */
export async function removeReplaced(ctx: Context, names: readonly (string | undefined)[]): Promise<void> {
  for (const name of names) {
    const rec = name === undefined ? undefined : findExact(ctx.state(), name);
    if (rec) await removeContainer(ctx, rec.id, { force: true });
  }
}

async function removeLocked(ctx: Context, id: string, opts: RemoveOptions): Promise<void> {
  const state = ctx.state();
  await withContainerLock(ctx, id, async (lock) => {
    const rec = state.find(id);
    if (rec?.id !== id) return;
    const users = state.sharingNetnsOf(id);
    if (users.length) {
      throw new UsageError(`container "${id}" has containers sharing its network namespace (${users.map((u) => u.id).join(", ")}): remove them first`);
    }
    const removing = state.setState(id, "removing");
    phase("rm: locked, removing");
    const errors = await teardownContainer(ctx, removing, { force: opts.force });
    const what = `removing container "${id}"`;
    if (errors.length && !opts.force) throw new ErrorList(what, errors, { outcome: `the container is kept; ctrnet rm -f ${id} removes it anyway`, exitCode: 1 });
    const left = errors.length ? await leftBehind(ctx, removing) : [];
    if (left.length) {
      throw new ErrorList(what, errors, { outcome: `the container is kept as removing, for ctrnet gc (or rm -f) to retry: ${left.join(", ")} left`, exitCode: 1 });
    }
    state.remove(id);
    lock.discard();
    phase("rm: record removed");
    if (errors.length) throw new ErrorList(what, errors, { outcome: "nothing of it is left within reach, so its record is removed", exitCode: 1 });
  });
}
