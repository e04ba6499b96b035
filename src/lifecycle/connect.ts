// `ctrnet connect` / `disconnect` on a live container: the seeds' NetworkConnect and NetworkDisconnect.
// Each network's status is stored with the network itself, so the per-network status can't shift out of
// line as in v2 (whose disconnect made a slice of len-1 empty entries and appended to it). The published
// ports belong to the first connected network; when it goes, they move to the next one, set up again
// with the address and MAC it had.
import { heldAddresses } from "../container/addresses.ts";
import { connectNetwork, disconnectNetwork, withStatus } from "../container/attachments.ts";
import { checkAddressFree } from "../container/static-ip.ts";
import type { NetworkDriver } from "../drivers/driver.ts";
import { CtrnetError, ErrorList, errorMessage } from "../errors.ts";
import { validateName } from "../names.ts";
import { validateIP, validateMAC } from "../schema/ip.ts";
import type { ContainerRecord } from "../state/index.ts";
import type { Context } from "./context.ts";
import { withContainerLock } from "../state/lock.ts";
import { requireLive, requireReady } from "./lookup.ts";
import { driverOf, targetOf } from "./networks.ts";
import { syncDns } from "./dns.ts";
import { superviseDnsServer } from "./supervisor.ts";
import { refreshEtcFiles } from "./etc-files.ts";
import type { ConnectOptions } from "./types.ts";

/** Runs fn on the current record of the container, under its lock, once it is ready and its driver live. */
async function onLiveContainer(
  ctx: Context,
  id: string,
  what: string,
  fn: (rec: ContainerRecord, driver: NetworkDriver) => Promise<void>,
): Promise<void> {
  await withContainerLock(ctx, id, async () => {
    const rec = ctx.state().get(id);
    requireReady(rec);
    await fn(rec, requireLive(rec, driverOf(ctx, rec), what));
  });
}

export async function connectContainer(ctx: Context, idOrName: string, nameOrId: string, opts: ConnectOptions = {}): Promise<void> {
  validateName("network name", nameOrId);
  const aliases = (opts.aliases ?? []).map((a) => validateName("network alias", a));
  const ip = opts.ip === undefined ? undefined : validateIP(opts.ip);
  const ip6 = opts.ip6 === undefined ? undefined : validateIP(opts.ip6);
  const mac = opts.mac === undefined ? undefined : validateMAC(opts.mac);
  const network = (await ctx.cni.resolveNetwork(nameOrId)).name;
  const found = ctx.state().get(idOrName);
  const what = `connect network "${network}" to`;
  const driver = requireLive(found, driverOf(ctx, found), what);
  const ips = [ip, ip6].filter((a) => a !== undefined);
  // kept with the attachment, as a create's: a concurrent create or connect cannot claim them meanwhile
  const statics = { ...(ips.length ? { staticIPs: ips } : {}), ...(mac !== undefined ? { staticMAC: mac } : {}) };
  const proposed = connectNetwork(found, network, aliases, statics);
  await driver.validate({ attachment: proposed.networks.at(-1)!, ports: [], aliases, ips, ...(mac !== undefined ? { mac } : {}) });
  await onLiveContainer(ctx, found.id, what, async (rec, driver) => {
    const state = ctx.state();
    const next = connectNetwork(rec, network, aliases, statics);
    for (const a of ips) checkAddressFree(state.addressHolders(network, a), network, a);
    const index = next.networks.length - 1;
    const status = await driver.setup(targetOf(ctx, next, driver, index, rec.netns!.path, { ...(ips.length ? { ips } : {}), mac }));
    const updated = state.update(rec.id, (r) => withStatus(connectNetwork(r, network, aliases, statics), network, status));
    await syncDns(ctx, { id: rec.id, changed: [network] });
    await refreshEtcFiles(ctx, rec, updated);
  });
  // the DNS server it may have started is restarted if it dies
  await superviseDnsServer(ctx);
}

/**
 * The first network's successor takes over the ports: torn down, then set up with the ports and the
 * addresses it held. If that fails, it is set up again without the ports, so the container at least keeps it.
 */
async function movePorts(ctx: Context, rec: ContainerRecord, driver: NetworkDriver): Promise<void> {
  const attachment = rec.networks[0]!;
  const netnsPath = rec.netns!.path;
  const held = heldAddresses(attachment.status);
  const withoutPorts = { ...rec, ports: [] };
  ErrorList.throwIfAny(`moving the published ports to network "${attachment.network}"`, await driver.teardown(targetOf(ctx, withoutPorts, driver, 0, netnsPath), attachment.status));
  let status;
  try {
    status = await driver.setup(targetOf(ctx, rec, driver, 0, netnsPath, held));
  } catch (err) {
    const fallback = await driver.setup(targetOf(ctx, withoutPorts, driver, 0, netnsPath, held)).catch((again) => {
      ctx.state().update(rec.id, (r) => disconnectNetwork(r, attachment.network));
      throw new CtrnetError(`moving the published ports to network "${attachment.network}" failed: ${errorMessage(err)}; re-attaching it failed too, so it is disconnected: ${errorMessage(again)}`);
    });
    ctx.state().update(rec.id, (r) => withStatus(r, attachment.network, fallback));
    throw new CtrnetError(`moving the published ports to network "${attachment.network}" failed: ${errorMessage(err)}`);
  }
  ctx.state().update(rec.id, (r) => withStatus(r, attachment.network, status));
}

export async function disconnectContainer(ctx: Context, idOrName: string, network: string): Promise<void> {
  validateName("network name", network);
  const { id } = ctx.state().get(idOrName);
  await onLiveContainer(ctx, id, `disconnect network "${network}" from`, async (rec, driver) => {
    const rest = disconnectNetwork(rec, network);
    const index = rec.networks.findIndex((n) => n.network === network);
    // its names on that network stop resolving before its address there can go to another container
    await syncDns(ctx, { leaving: { id: rec.id, network } });
    ErrorList.throwIfAny("", await driver.teardown(targetOf(ctx, rec, driver, index, rec.netns!.path), rec.networks[index]!.status));
    const updated = ctx.state().update(rec.id, (r) => disconnectNetwork(r, network));
    await refreshEtcFiles(ctx, rec, updated);
    if (index === 0 && rest.networks.length && rec.ports.length) await movePorts(ctx, updated, driver);
    if (rest.networks.length === 0 && driver.release) ErrorList.throwIfAny(`releasing the rootless netns`, await driver.release());
  });
}
