// `ctrnet reload`: the seeds' reloadContainerNetwork, for every network rather than only a container with
// a single one. After a firewall reload wiped the rules, each network is torn down and set up again,
// asking for the addresses and the MAC the container had, so nothing inside it changes.
import { heldAddresses } from "../container/addresses.ts";
import { withStatus } from "../container/attachments.ts";
import { isMissingChainError } from "../drivers/cni/driver.ts";
import { ErrorList, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { Context } from "./context.ts";
import { withContainerLock } from "../state/lock.ts";
import { requireLive, requireReady } from "./lookup.ts";
import { driverOf, targetOf } from "./networks.ts";
import { helpersSupervised, START_ORDER, stopForRestart } from "./helpers.ts";
import { restartHelpers } from "./restart.ts";
import { readHelperPids } from "../state/ledger.ts";
import { superviseHelpers } from "./supervisor.ts";
import type { ContainerRecord } from "../state/index.ts";

export async function reloadContainer(ctx: Context, idOrName: string): Promise<void> {
  const state = ctx.state();
  const { id } = state.get(idOrName);
  await withContainerLock(ctx, id, async () => {
    const rec = state.get(id);
    requireReady(rec);
    const found = driverOf(ctx, rec);
    if (found && !found.live && found.restartHelper) return reloadHelpers(ctx, rec);
    const driver = requireLive(rec, found, "reload the network of");
    const netnsPath = rec.netns!.path;
    const attachments = driver.attachments(rec);
    for (let i = attachments.length - 1; i >= 0; i--) {
      // what a wiped firewall already took away is expected to be missing
      for (const err of await driver.teardown(targetOf(ctx, rec, driver, i, netnsPath), attachments[i]!.status)) {
        if (isMissingChainError(err)) log.info(`reload of container ${id}: ${errorMessage(err)}`);
        else log.warn(`reload of container ${id}: ${errorMessage(err)}`);
      }
    }
    const errors: unknown[] = [];
    for (const [i, attachment] of attachments.entries()) {
      try {
        const status = await driver.setup(targetOf(ctx, rec, driver, i, netnsPath, heldAddresses(attachment.status)));
        state.update(id, (r) => withStatus(r, attachment.network, status));
      } catch (err) {
        errors.push(err);
      }
    }
    ErrorList.throwIfAny(`reloading the network of container "${id}"`, errors);
    // root: the supervisor holding its host ports is started again if it was killed, and holds them again
    if (readHelperPids(ctx, id).holdsPorts) await superviseHelpers(ctx, id);
  });
}

/**
 * A network made by helper processes (slirp4netns and its forwarder) has nothing else to reload: they
 * are stopped and started again with the configuration the record keeps, and the supervisor that
 * restarts them from then on is started if it is gone (killed).
 */
async function reloadHelpers(ctx: Context, rec: ContainerRecord): Promise<void> {
  const kinds = START_ORDER.filter((kind) => rec.helpers[kind] !== null);
  ErrorList.throwIfAny(`stopping the helpers of container "${rec.id}"`, await stopForRestart(ctx, rec.id, kinds));
  ErrorList.throwIfAny(`restarting the helpers of container "${rec.id}"`, await restartHelpers(ctx, rec, kinds));
  if (helpersSupervised(ctx, rec.id)) await superviseHelpers(ctx, rec.id);
}

/** `reload --all`: every ready container whose networks can be reloaded. */
export function reloadableContainers(ctx: Context): string[] {
  return ctx.state().list().filter((r) => r.state === "ready" && driverOf(ctx, r)?.live).map((r) => r.id);
}
