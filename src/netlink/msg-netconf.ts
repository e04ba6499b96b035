// RTM_GETNETCONF / RTM_NEWNETCONF: struct netconfmsg and the NETCONFA_* attributes. Reads a family's
// forwarding switch (net.ipv4.ip_forward, net.ipv6.conf.all.forwarding) without opening /proc/sys/net,
// whose lookup gets slower with every network namespace the host has.
import { attrTable, i32 } from "./attrs.ts";
import { bodyCodec, type StructCodec } from "./body.ts";

export const RTM_NEWNETCONF = 80;
export const RTM_GETNETCONF = 82;

/** NETCONFA_IFINDEX of the "all" parameters (net.ipv4.conf.all, net.ipv6.conf.all). */
export const NETCONFA_IFINDEX_ALL = -1;

/** struct netconfmsg: the family alone, padded to 4 bytes. */
export interface NetconfMsg {
  family: number;
}

const netconfmsg: StructCodec<NetconfMsg> = {
  name: "netconfmsg",
  size: 1,
  encode(w, h) {
    w.u8(h.family);
  },
  decode: (view) => ({ family: view.getUint8(0) }),
};

const NETCONF = attrTable("netconfmsg", {
  ifindex: [1, i32],
  forwarding: [2, i32],
});

export const netconfMessage = bodyCodec(netconfmsg, NETCONF);
