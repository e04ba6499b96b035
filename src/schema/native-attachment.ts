// The record of one native-bridge attachment (src/state/native-attachments.ts): read back from disk, so
// checked like any external input.
import * as v from "valibot";
import { lazySchemas } from "./lazy.ts";

/** Built at the first read (lazy.ts): a create writes its attachment's file without reading one. */
export const nativeAttachmentSchema = lazySchemas(() => {
  const Port = v.object({
    protocol: v.picklist(["tcp", "udp", "sctp"]),
    hostIP: v.optional(v.string()),
    hostPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
    containerIP: v.string(),
    containerPort: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  });

  return v.object({
    /** Who made it: "cni" for a runtime calling ctrnet as its plugin, "ctrnet:<state dir>" for ctrnet's own. */
    owner: v.string(),
    network: v.string(),
    containerId: v.string(),
    ifname: v.string(),
    netns: v.string(),
    bridge: v.string(),
    subnets: v.array(v.string()),
    internal: v.optional(v.boolean()),
    isolate: v.optional(v.picklist(["true", "strict"])),
    /** podman 5's `-o mode=unmanaged`: its network has no place in the firewall table. */
    unmanaged: v.optional(v.literal(true)),
    hostInterface: v.string(),
    mac: v.string(),
    addresses: v.array(v.object({ address: v.string(), gateway: v.string() })),
    gateways: v.array(v.string()),
    ports: v.array(Port),
  });
});
