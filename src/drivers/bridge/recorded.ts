// What ctrnet's nftables table must hold, read from the native attachments' records: the one source a
// table flushed from outside is made again from, by an attach, a detach or `ctrnet watch`.
import type { FirewallNetwork, FirewallState } from "../firewall/index.ts";
import { listNativeAttachments, type NativeAttachment } from "../../state/native-attachments.ts";

type Key = Pick<NativeAttachment, "network" | "containerId" | "ifname">;

const same = (a: Key, b: Key): boolean => a.network === b.network && a.containerId === b.containerId && a.ifname === b.ifname;

/** Every network and port on record in the state dir `root`, but the attachment `except` (being detached). */
export function recordedFirewallState(root: string, except?: Key): FirewallState {
  const all = listNativeAttachments(root).filter((a) => except === undefined || !same(a, except));
  const networks = new Map<string, FirewallNetwork>();
  for (const a of all) {
    // an unmanaged network's bridge is the host's, with no rule of ctrnet's (attach.ts)
    if (a.unmanaged) continue;
    if (!networks.has(a.bridge)) networks.set(a.bridge, { bridge: a.bridge, subnets: a.subnets, ...(a.internal ? { internal: true } : {}), ...(a.isolate ? { isolate: a.isolate } : {}) });
  }
  return { networks: [...networks.values()], ports: all.flatMap((a) => a.ports) };
}
