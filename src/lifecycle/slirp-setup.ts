// A slirp4netns container's network, as the seed's setupSlirp4netns: slirp4netns on the container's netns
// (tap0 at cidr + 100), then its published ports, by ctrnet's forwarder (port_handler=rootlesskit, the
// default: `ctrnet _rootlessport` listens on the host and connects from inside the netns to the tap's
// address, so servers see a real peer address, not 127.0.0.1) or by slirp4netns's add_hostfwd
// (port_handler=slirp4netns). Each helper's pid goes into the record the moment it exists.
import { join } from "node:path";
import { hostLookup } from "../drivers/slirp4netns/host-lookup.ts";
import { addHostFwd } from "../drivers/slirp4netns/api.ts";
import { slirp4netnsAddresses } from "../drivers/slirp4netns/addresses.ts";
import { parseSlirp4netnsOptions } from "../drivers/slirp4netns/options.ts";
import { startSlirp4netns } from "../drivers/slirp4netns/start.ts";
import { startPortForwarder } from "../drivers/portfwd/index.ts";
import { selfCommand } from "../rootless/self.ts";
import type { ContainerRecord } from "../state/index.ts";
import type { Context } from "./context.ts";
import { apiSocketPath, type HelperKind, holdHelper, recordHelper } from "./helpers.ts";
import { forwarderPorts, hostFwds } from "./slirp-network.ts";

export interface SlirpSetupOptions {
  /** The helpers die with this process (`ctrnet run`); otherwise they run until `rm` stops them. */
  tied: boolean;
}

export async function setUpSlirp4netns(ctx: Context, rec: ContainerRecord, netnsPath: string, opts: SlirpSetupOptions): Promise<ContainerRecord> {
  if (rec.mode.kind !== "slirp4netns") return rec;
  // Checked again where slirp4netns will run: an outbound_addr interface may have gone since parsing.
  const options = parseSlirp4netnsOptions(rec.mode.options, hostLookup);
  const state = ctx.state();
  let current = rec;
  const note = (kind: HelperKind) => (pid: number) => {
    recordHelper(ctx, rec.id, kind, pid);
    current = state.update(rec.id, (r) => ({ ...r, helpers: { ...r.helpers, [kind]: pid } }));
  };
  const viaApi = options.portHandler === "slirp4netns" && rec.ports.length > 0;
  const apiSocket = viaApi ? apiSocketPath(ctx, rec.id) : undefined;
  const slirp = await startSlirp4netns({
    netnsPath,
    options,
    apiSocket,
    exitFd: opts.tied,
    onSpawn: note("slirp4netns"),
    featuresCache: join(ctx.runtimeDir, "slirp4netns-features.json"),
  });
  holdHelper(rec.id, "slirp4netns", slirp);
  if (rec.ports.length === 0) return current;

  const { ip } = slirp4netnsAddresses(options.cidr);
  if (apiSocket !== undefined) {
    for (const fwd of hostFwds(rec.ports, ip)) await addHostFwd(apiSocket, fwd);
    return current;
  }
  const [binary, ...args] = selfCommand();
  const forwarder = await startPortForwarder({
    binary: binary!,
    args,
    netnsPath,
    childIP: ip,
    ports: forwarderPorts(rec.ports),
    detached: !opts.tied,
    onSpawn: note("portForwarder"),
  });
  holdHelper(rec.id, "portForwarder", forwarder);
  return current;
}
