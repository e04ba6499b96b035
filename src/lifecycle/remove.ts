// `ctrnet rm`: teardownNetNS, then the record. Past errors it keeps going and reports them all; without
// --force a container whose CNI DEL failed keeps its record and netns, so that `rm` can be run again.
import { ErrorList, errorMessage, UsageError } from "../errors.ts";
import { log } from "../log.ts";
import type { Context } from "./context.ts";
import { withContainerLock } from "../state/lock.ts";
import { dependents } from "./lookup.ts";
import { stopIdleSupervisors } from "./supervisor.ts";
import { teardownContainer } from "./teardown.ts";
import type { RemoveOptions } from "./types.ts";

export async function removeContainer(ctx: Context, idOrName: string, opts: RemoveOptions = {}): Promise<void> {
  const state = ctx.state();
  const found = opts.force ? state.find(idOrName) : state.get(idOrName);
  if (!found) return;
  const id = found.id;
  try {
    await removeLocked(ctx, id, opts);
  } finally {
    // The supervisor of its helpers goes with the last container it had.
    for (const err of await stopIdleSupervisors(ctx)) log.warn(errorMessage(err));
  }
}

async function removeLocked(ctx: Context, id: string, opts: RemoveOptions): Promise<void> {
  const state = ctx.state();
  await withContainerLock(ctx, id, async (lock) => {
    const rec = state.find(id);
    if (rec?.id !== id) return;
    const users = dependents(state, id);
    if (users.length) {
      throw new UsageError(`container "${id}" has containers sharing its network namespace (${users.map((u) => u.id).join(", ")}): remove them first`);
    }
    const removing = state.update(id, (r) => ({ ...r, state: "removing" }));
    const errors = await teardownContainer(ctx, removing, { force: opts.force });
    if (errors.length && !opts.force) throw new ErrorList(`removing container "${id}"`, errors, { outcome: `the container is kept; ctrnet rm -f ${id} removes it anyway`, exitCode: 1 });
    state.remove(id);
    lock.discard();
    if (errors.length) throw new ErrorList(`removing container "${id}"`, errors, { outcome: "its record is removed; ctrnet gc retries what is left", exitCode: 1 });
  });
}
