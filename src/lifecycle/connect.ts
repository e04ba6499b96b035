// `ctrnet connect` / `disconnect` on a live container: the seeds' NetworkConnect and NetworkDisconnect.
// Each network's result is stored with the network itself, so the per-network status can't shift out of
// line as in v2 (whose disconnect made a slice of len-1 empty entries and appended to it). The published
// ports belong to the first connected network; when it goes, they move to the next one, re-attached with
// the address and MAC it had.
import { CtrnetError, errorMessage } from "../errors.ts";
import { validateName } from "../names.ts";
import { validateIP, validateMAC } from "../schema/ip.ts";
import type { ContainerRecord } from "../state/index.ts";
import { checkRequestedIP, heldAddresses } from "./addresses.ts";
import { addNetwork, delNetwork } from "./attach.ts";
import type { Context } from "./context.ts";
import { withContainerLock } from "./lock.ts";
import { throwCollected } from "./errors.ts";
import { requireBridgeMode, requireReady } from "./lookup.ts";
import { connectNetwork, disconnectNetwork, withStatus } from "../container/attachments.ts";
import { releaseUnusedRootlessNetns, syncRootlessPorts, usesRootlessNetns } from "./rootless-bridge.ts";
import { checkAddressFree } from "./static-ip.ts";
import type { ConnectOptions } from "./types.ts";

/** Runs fn on the current record of the container, under its lock, once it is ready and in bridge mode. */
async function onLiveContainer(ctx: Context, idOrName: string, what: string, fn: (rec: ContainerRecord) => Promise<void>): Promise<void> {
  const { id } = ctx.state().get(idOrName);
  await withContainerLock(ctx, id, async () => {
    const rec = ctx.state().get(id);
    requireReady(rec);
    requireBridgeMode(rec, what);
    await fn(rec);
  });
}

export async function connectContainer(ctx: Context, idOrName: string, network: string, opts: ConnectOptions = {}): Promise<void> {
  validateName("network name", network);
  const aliases = (opts.aliases ?? []).map((a) => validateName("network alias", a));
  const ip = opts.ip === undefined ? undefined : validateIP(opts.ip);
  const mac = opts.mac === undefined ? undefined : validateMAC(opts.mac);
  const config = await ctx.cni.loadNetwork(network);
  if (ip !== undefined) checkRequestedIP(config, ip);
  await onLiveContainer(ctx, idOrName, `connect network "${network}" to`, async (rec) => {
    const state = ctx.state();
    const next = connectNetwork(rec, network, aliases);
    if (ip !== undefined) checkAddressFree(state.list(), network, ip);
    const attachment = next.networks.at(-1)!;
    const first = next.networks.length === 1;
    const result = await addNetwork(ctx, next, attachment, rec.netns!.path, {
      ...(first ? { ports: rec.ports } : {}),
      ...(ip !== undefined ? { ips: [ip] } : {}),
      ...(mac !== undefined ? { mac } : {}),
    });
    const updated = state.update(rec.id, (r) => withStatus(connectNetwork(r, network, aliases), network, result));
    if (first) await syncRootlessPorts(ctx, updated, { tied: false });
  });
}

/**
 * The first network's successor takes over the ports: DEL, then ADD with the ports and the addresses it
 * held. If that ADD fails, it is attached again without the ports, so the container at least keeps it.
 */
async function movePorts(ctx: Context, rec: ContainerRecord): Promise<void> {
  const attachment = rec.networks[0]!;
  const netnsPath = rec.netns!.path;
  const held = heldAddresses(attachment.status);
  await delNetwork(ctx, rec, attachment, netnsPath);
  let result;
  try {
    result = await addNetwork(ctx, rec, attachment, netnsPath, { ports: rec.ports, ...held });
  } catch (err) {
    const fallback = await addNetwork(ctx, rec, attachment, netnsPath, held).catch((again) => {
      ctx.state().update(rec.id, (r) => disconnectNetwork(r, attachment.network));
      throw new CtrnetError(`moving the published ports to network "${attachment.network}" failed: ${errorMessage(err)}; re-attaching it failed too, so it is disconnected: ${errorMessage(again)}`);
    });
    ctx.state().update(rec.id, (r) => withStatus(r, attachment.network, fallback));
    throw new CtrnetError(`moving the published ports to network "${attachment.network}" failed: ${errorMessage(err)}`);
  }
  ctx.state().update(rec.id, (r) => withStatus(r, attachment.network, result));
}

export async function disconnectContainer(ctx: Context, idOrName: string, network: string): Promise<void> {
  validateName("network name", network);
  await onLiveContainer(ctx, idOrName, `disconnect network "${network}" from`, async (rec) => {
    const rest = disconnectNetwork(rec, network);
    const index = rec.networks.findIndex((n) => n.network === network);
    const wasFirst = index === 0;
    await delNetwork(ctx, rec, rec.networks[index]!, rec.netns!.path, wasFirst ? { ports: rec.ports } : {});
    const updated = ctx.state().update(rec.id, (r) => disconnectNetwork(r, network));
    if (wasFirst && rest.networks.length && rec.ports.length) await movePorts(ctx, updated);
    // the forwarder follows the ports to the next network's address, or stops with the last network
    if (wasFirst) await syncRootlessPorts(ctx, ctx.state().get(rec.id), { tied: false });
    if (rest.networks.length === 0 && usesRootlessNetns(ctx, rec)) throwCollected(`releasing the rootless netns`, await releaseUnusedRootlessNetns(ctx));
  });
}
