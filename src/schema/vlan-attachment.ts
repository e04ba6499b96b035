// The record of one macvlan or ipvlan attachment made by ctrnet's plugin (src/state/vlan-attachments.ts):
// read back from disk, so checked like any external input.
import * as v from "valibot";
import { lazySchemas } from "./lazy.ts";

/** Built at the first read (lazy.ts). */
export const vlanAttachmentSchema = lazySchemas(() =>
  v.object({
    /** Who made it: "cni" for a runtime calling ctrnet as its plugin, "ctrnet:<state dir>" for ctrnet's own. */
    owner: v.string(),
    network: v.string(),
    containerId: v.string(),
    ifname: v.string(),
    netns: v.string(),
    driver: v.picklist(["macvlan", "ipvlan"]),
    /** "" when the network names none (the default route's interface was used). */
    master: v.string(),
    mac: v.string(),
    addresses: v.array(v.object({ address: v.string(), gateway: v.string() })),
    gateways: v.array(v.string()),
  }),
);
