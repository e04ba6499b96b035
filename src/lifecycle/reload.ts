// `ctrnet reload`: the seeds' reloadContainerNetwork, for every network rather than only a container with
// a single one. After a firewall reload wiped the rules, DEL then ADD re-creates them, asking IPAM for the
// addresses and the interface for the MAC the container had, so nothing inside it changes.
import { log } from "../log.ts";
import { errorMessage } from "../errors.ts";
import { heldAddresses } from "./addresses.ts";
import { addNetwork, delNetwork } from "./attach.ts";
import type { Context } from "./context.ts";
import { throwCollected } from "./errors.ts";
import { withContainerLock } from "./lock.ts";
import { requireBridgeMode, requireReady } from "./lookup.ts";
import { withStatus } from "../container/attachments.ts";

/**
 * What a DEL says when the rules it would delete are already gone, which after a firewall reload is
 * the point: iptables-legacy's and iptables-nft's wording, as podman matches them.
 */
const MISSING_CHAIN =
  /Couldn't load target `CNI-[\w-]+'|Chain '?CNI-[\w-]+'? does not exist|No chain\/target\/match by that name|chain .*CNI-[\w-]+.* does not exist/i;

export function isMissingChainError(err: unknown): boolean {
  return MISSING_CHAIN.test(errorMessage(err));
}

export async function reloadContainer(ctx: Context, idOrName: string): Promise<void> {
  const state = ctx.state();
  const { id } = state.get(idOrName);
  await withContainerLock(ctx, id, async () => {
    const rec = state.get(id);
    requireReady(rec);
    requireBridgeMode(rec, "reload the network of");
    const netnsPath = rec.netns!.path;
    for (let i = rec.networks.length - 1; i >= 0; i--) {
      try {
        await delNetwork(ctx, rec, rec.networks[i]!, netnsPath, i === 0 ? { ports: rec.ports } : {});
      } catch (err) {
        if (isMissingChainError(err)) log.info(`reload of container ${id}: ${errorMessage(err)}`);
        else log.warn(`reload of container ${id}: ${errorMessage(err)}`);
      }
    }
    const errors: unknown[] = [];
    for (const [i, attachment] of rec.networks.entries()) {
      const held = heldAddresses(attachment.status);
      try {
        const result = await addNetwork(ctx, rec, attachment, netnsPath, { ...(i === 0 ? { ports: rec.ports } : {}), ...held });
        state.update(id, (r) => withStatus(r, attachment.network, result));
      } catch (err) {
        errors.push(err);
      }
    }
    throwCollected(`reloading the network of container "${id}"`, errors);
  });
}
