// What a rootless bridge container needs beyond its CNI attachments (seed v3's setupRootlessNetNS):
// published ports through ctrnet's forwarder, which listens in the host's namespace and connects from
// inside the rootless netns to the container's bridge address, so servers see a peer in the bridge subnet;
// and, once its last attachment is gone, the release of the rootless netns.
import { startPortForwarder } from "../drivers/portfwd/index.ts";
import { selfCommand } from "../rootless/self.ts";
import type { ContainerRecord } from "../state/index.ts";
import type { Context } from "./context.ts";
import { throwCollected } from "./errors.ts";
import { releaseRootlessNetns } from "../rootless/netns.ts";
import { holdHelper, recordHelper, stopHelpers } from "./helpers.ts";
import { forwarderPorts } from "./slirp-network.ts";
import { ipFamily } from "../ip/codec.ts";
import { statusAddresses } from "../schema/network-status.ts";

export function usesRootlessNetns(ctx: Context, rec: ContainerRecord): boolean {
  return ctx.rootless && rec.mode.kind === "bridge";
}

/** Removes the rootless netns when no CNI attachment of the user is cached any more; every error. */
export function releaseUnusedRootlessNetns(ctx: Context): Promise<unknown[]> {
  return releaseRootlessNetns(ctx.rootlessNetns, async () => (await ctx.cni.cachedAttachments()).length > 0);
}

/** The container's IPv4 address on its first network, where the ports are published. */
function firstAddress(rec: ContainerRecord): string | undefined {
  const status = rec.networks[0]?.status;
  const ips = status ? statusAddresses(status) : [];
  return ips.find((ip) => ipFamily(ip) === 4) ?? ips[0];
}

export interface PortsOptions {
  /** The forwarder dies with this process (`ctrnet run`); otherwise it runs until `rm` stops it. */
  tied: boolean;
}

/**
 * Makes the forwarder match the record: any running one stops, and one for the first network's address
 * starts when there are ports and a network. Called after create, and after a connect or disconnect
 * changed the first network.
 */
export async function syncRootlessPorts(ctx: Context, rec: ContainerRecord, opts: PortsOptions): Promise<ContainerRecord> {
  if (!usesRootlessNetns(ctx, rec)) return rec;
  const state = ctx.state();
  let current = rec;
  if (rec.helpers.portForwarder !== null) {
    throwCollected(`stopping the port forwarder of container "${rec.id}"`, await stopHelpers(ctx, rec.id));
    current = state.update(rec.id, (r) => ({ ...r, helpers: { ...r.helpers, portForwarder: null } }));
  }
  const childIP = firstAddress(current);
  if (current.ports.length === 0 || childIP === undefined) return current;
  const [binary, ...args] = selfCommand();
  const forwarder = await startPortForwarder({
    binary: binary!,
    args,
    netnsPath: ctx.rootlessNetns.netns,
    childIP,
    ports: forwarderPorts(current.ports),
    detached: !opts.tied,
    onSpawn: (pid) => {
      recordHelper(ctx, rec.id, "portForwarder", pid);
      current = state.update(rec.id, (r) => ({ ...r, helpers: { ...r.helpers, portForwarder: pid } }));
    },
  });
  holdHelper(rec.id, "portForwarder", forwarder);
  return current;
}
