// `ctrnet stats`: the seeds' getContainerNetIO for every interface, read over rtnetlink from inside the
// netns of the container (or of the one it shares).
import { isSysError } from "../../ffi/errno.ts";
import { CtrnetError, UsageError } from "../errors.ts";
import { Netlink } from "../netlink/index.ts";
import type { Context } from "./context.ts";
import { netnsOwner } from "./lookup.ts";
import type { InterfaceStats } from "./types.ts";

export async function containerStats(ctx: Context, idOrName: string): Promise<InterfaceStats[]> {
  const state = ctx.state();
  const rec = state.get(idOrName);
  const owner = netnsOwner(state, rec);
  if (!owner.netns) throw new UsageError(`container "${rec.id}" has no network namespace of its own (network mode ${owner.mode.kind})`);
  let nl: Netlink;
  try {
    nl = Netlink.open({ netns: owner.netns.path });
  } catch (err) {
    // A rootless runtime's container (ctrnet as its hook): its netns is that runtime's user namespace's.
    const why = ctx.rootless && isSysError(err, "EACCES", "EPERM") ? "; it belongs to the user namespace of the runtime that made it, which ctrnet's own cannot enter" : "";
    throw new CtrnetError(`cannot read the interfaces of container "${rec.id}": ${err instanceof Error ? err.message : String(err)}${why}`);
  }
  try {
    return nl.links().map((link) => {
      const s = link.stats;
      const n = (v: bigint | undefined) => Number(v ?? 0n);
      return {
        interface: link.name,
        rxBytes: n(s?.rxBytes),
        rxPackets: n(s?.rxPackets),
        rxErrors: n(s?.rxErrors),
        rxDropped: n(s?.rxDropped),
        txBytes: n(s?.txBytes),
        txPackets: n(s?.txPackets),
        txErrors: n(s?.txErrors),
        txDropped: n(s?.txDropped),
      };
    });
  } finally {
    nl.close();
  }
}
