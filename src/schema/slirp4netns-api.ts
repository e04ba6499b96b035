// Replies of slirp4netns's API socket (docs: slirp4netns(1), "API SOCKET"). Every request gets one JSON
// object: {"return": …} on success ({"entries": […]} for list_hostfwd) or {"error": {"desc": "…"}}.
import * as v from "valibot";

const Port = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535));

export const ApiErrorReply = v.looseObject({ error: v.looseObject({ desc: v.string() }) });

export const AddHostFwdReply = v.looseObject({
  return: v.looseObject({ id: v.pipe(v.number(), v.integer()) }),
});

export const RemoveHostFwdReply = v.looseObject({ return: v.looseObject({}) });

export const HostFwdEntry = v.looseObject({
  id: v.pipe(v.number(), v.integer()),
  proto: v.picklist(["tcp", "udp"]),
  host_addr: v.string(),
  host_port: Port,
  guest_addr: v.string(),
  guest_port: Port,
});
export type HostFwdEntry = v.InferOutput<typeof HostFwdEntry>;

export const ListHostFwdReply = v.looseObject({ entries: v.array(HostFwdEntry) });
