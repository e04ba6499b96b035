// RTM_*LINK messages: struct ifinfomsg, the IFLA_* attribute table, IFLA_LINKINFO with its per-kind data
// (veth, bridge, macvlan, ipvlan, and a bridge port's IFLA_BRPORT_* as slave data), struct
// rtnl_link_stats64, and the PF_BRIDGE messages that set a bridge port's flags and VLANs.
import {
  attrTable,
  attrView,
  decodeAttrs,
  encodeAttrs,
  hardwareAddress,
  i32,
  lazy,
  nested,
  string,
  u16,
  u32,
  u8,
  type Attr,
  type Codec,
} from "./attrs.ts";
import { bodyCodec, type StructCodec } from "./body.ts";
import { NetlinkMalformedError } from "./errors.ts";
import { HOST_LITTLE_ENDIAN, viewOf } from "./wire.ts";

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;

export const AF_BRIDGE = 7;
const NLA_F_NESTED = 0x8000;

export const IFF_UP = 0x1;

/** struct ifinfomsg; the pad byte after the family is always zero. */
export interface IfInfoMsg {
  family: number;
  /** ARPHRD_* */
  type: number;
  index: number;
  flags: number;
  /** Which bits of `flags` a request changes. */
  change: number;
}

const ifinfomsg: StructCodec<IfInfoMsg> = {
  name: "ifinfomsg",
  size: 16,
  encode(w, h) {
    w.u8(h.family);
    w.u8(0);
    w.u16(h.type);
    w.i32(h.index);
    w.u32(h.flags);
    w.u32(h.change);
  },
  decode: (view) => ({
    family: view.getUint8(0),
    type: view.getUint16(2, HOST_LITTLE_ENDIAN),
    index: view.getInt32(4, HOST_LITTLE_ENDIAN),
    flags: view.getUint32(8, HOST_LITTLE_ENDIAN),
    change: view.getUint32(12, HOST_LITTLE_ENDIAN),
  }),
};

/** struct rtnl_link_stats64, in kernel order. */
const STATS64_COUNTERS = [
  "rxPackets",
  "txPackets",
  "rxBytes",
  "txBytes",
  "rxErrors",
  "txErrors",
  "rxDropped",
  "txDropped",
  "multicast",
  "collisions",
  "rxLengthErrors",
  "rxOverErrors",
  "rxCrcErrors",
  "rxFrameErrors",
  "rxFifoErrors",
  "rxMissedErrors",
  "txAbortedErrors",
  "txCarrierErrors",
  "txFifoErrors",
  "txHeartbeatErrors",
  "txWindowErrors",
  "rxCompressed",
  "txCompressed",
  "rxNohandler",
] as const;

/** All counters are u64 on the wire and bigint here, whatever their size today. */
export type Stats64 = Record<(typeof STATS64_COUNTERS)[number], bigint> & {
  /** Appended in Linux 5.19. */
  rxOtherhostDropped?: bigint;
};

const stats64: Codec<Stats64> = {
  encode(w, s) {
    for (const name of STATS64_COUNTERS) w.u64(s[name]);
    if (s.rxOtherhostDropped !== undefined) w.u64(s.rxOtherhostDropped);
  },
  // Counters a newer kernel appends after rx_otherhost_dropped are not read.
  decode(b) {
    const base = STATS64_COUNTERS.length * 8;
    if (b.length < base || b.length % 8 !== 0) throw new NetlinkMalformedError(`rtnl_link_stats64 of ${b.length} bytes`);
    const view = viewOf(b);
    const stats = {} as Stats64;
    STATS64_COUNTERS.forEach((name, i) => (stats[name] = view.getBigUint64(i * 8, HOST_LITTLE_ENDIAN)));
    if (b.length > base) stats.rxOtherhostDropped = view.getBigUint64(base, HOST_LITTLE_ENDIAN);
    return stats;
  },
};

export interface LinkMessage {
  header: IfInfoMsg;
  attrs: LinkAttr[];
}

// veth's peer is a whole link message inside the link message: the cycle is broken by a lazy codec.
const peerMessage: Codec<LinkMessage> = lazy(() => linkMessage);

const VETH = attrTable("veth info", { peer: [1, peerMessage] });
export type VethAttr = Attr<typeof VETH.spec>;

/** IFLA_BR_*: the few a container network sets or reads; the rest of a dump is kept raw. */
const BRIDGE = attrTable("bridge info", {
  forwardDelay: [1, u32],
  helloTime: [2, u32],
  maxAge: [3, u32],
  ageingTime: [4, u32],
  stpState: [5, u32],
  priority: [6, u16],
  vlanFiltering: [7, u8],
  mcastSnooping: [23, u8],
  vlanDefaultPvid: [39, u16],
});
export type BridgeAttr = Attr<typeof BRIDGE.spec>;

/** IFLA_MACVLAN_*; mode is one of MACVLAN_MODES. */
// IFLA_MACVLAN_BC_CUTOFF (9, Linux 6.4): the multicast/broadcast queue limit, podman's bclim
const MACVLAN = attrTable("macvlan info", { mode: [1, u32], flags: [2, u16], bcCutoff: [9, i32] });
export type MacvlanAttr = Attr<typeof MACVLAN.spec>;

/** IFLA_IPVLAN_*; mode is one of IPVLAN_MODES, flags IPVLAN_F_*. */
const IPVLAN = attrTable("ipvlan info", { mode: [1, u16], flags: [2, u16] });
export type IpvlanAttr = Attr<typeof IPVLAN.spec>;

export const MACVLAN_MODES = { private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16 } as const;
export const IPVLAN_MODES = { l2: 0, l3: 1, l3s: 2 } as const;

/** IFLA_BRPORT_*: a bridge port's settings, as slave data of a link and inside IFLA_PROTINFO. */
const BRIDGE_PORT = attrTable("IFLA_BRPORT", {
  state: [1, u8],
  priority: [2, u16],
  cost: [3, u32],
  hairpin: [4, u8],
  guard: [5, u8],
  protect: [6, u8],
  fastLeave: [7, u8],
  learning: [8, u8],
  unicastFlood: [9, u8],
  proxyArp: [10, u8],
  isolated: [33, u8],
});
export type BridgePortAttr = Attr<typeof BRIDGE_PORT.spec>;

/** IFLA_INFO_DATA, read according to IFLA_INFO_KIND; kinds without a table here stay raw. */
export type InfoData =
  | { kind: "veth"; attrs: VethAttr[] }
  | { kind: "bridge"; attrs: BridgeAttr[] }
  | { kind: "macvlan"; attrs: MacvlanAttr[] }
  | { kind: "ipvlan"; attrs: IpvlanAttr[] }
  | { kind: null; bytes: Uint8Array };

const infoData: Codec<InfoData> = {
  encode(w, data) {
    if (data.kind === "veth") encodeAttrs(w, VETH, data.attrs);
    else if (data.kind === "bridge") encodeAttrs(w, BRIDGE, data.attrs);
    else if (data.kind === "macvlan") encodeAttrs(w, MACVLAN, data.attrs);
    else if (data.kind === "ipvlan") encodeAttrs(w, IPVLAN, data.attrs);
    else w.bytes(data.bytes);
  },
  decode(b, siblings) {
    const kind = siblings.find((a) => a.name === "kind")?.value;
    if (kind === "veth") return { kind, attrs: decodeAttrs(VETH, b) };
    if (kind === "bridge") return { kind, attrs: decodeAttrs(BRIDGE, b) };
    if (kind === "macvlan") return { kind, attrs: decodeAttrs(MACVLAN, b) };
    if (kind === "ipvlan") return { kind, attrs: decodeAttrs(IPVLAN, b) };
    return { kind: null, bytes: b.slice() };
  },
};

/** IFLA_INFO_SLAVE_DATA, read according to IFLA_INFO_SLAVE_KIND: a bridge port's settings, or raw. */
export type SlaveData = { kind: "bridge"; attrs: BridgePortAttr[] } | { kind: null; bytes: Uint8Array };

const slaveData: Codec<SlaveData> = {
  encode(w, data) {
    if (data.kind === "bridge") encodeAttrs(w, BRIDGE_PORT, data.attrs);
    else w.bytes(data.bytes);
  },
  decode(b, siblings) {
    if (siblings.find((a) => a.name === "slaveKind")?.value === "bridge") return { kind: "bridge", attrs: decodeAttrs(BRIDGE_PORT, b) };
    return { kind: null, bytes: b.slice() };
  },
};

const LINK_INFO = attrTable("IFLA_LINKINFO", {
  kind: [1, string],
  data: [2, infoData],
  slaveKind: [4, string],
  slaveData: [5, slaveData],
});
export type LinkInfoAttr = Attr<typeof LINK_INFO.spec>;

/**
 * IPV4_DEVCONF_* (linux/ip.h, numbered from 1): the per-interface parameters of /proc/sys/net/ipv4/conf/DEV
 * that a container network reads or sets. Set over netlink, they cost no /proc lookup (see IPV4_CONF).
 */
export const IPV4_DEVCONF = { forwarding: 1, rpFilter: 8, arpNotify: 22, routeLocalnet: 26 } as const;
export type Ipv4DevconfName = keyof typeof IPV4_DEVCONF;
export type Ipv4Devconf = Partial<Record<Ipv4DevconfName, number>>;

/**
 * IFLA_INET_CONF has two layouts: the kernel reports every IPV4_DEVCONF value as one u32 array (index
 * N-1 holds parameter N), and takes the ones to change as attributes whose type is the parameter's number
 * (inet_set_link_af). Parameters not named in IPV4_DEVCONF are neither read nor sent.
 */
const ipv4Devconf: Codec<Ipv4Devconf> = {
  encode(w, conf) {
    for (const [name, value] of Object.entries(conf) as [Ipv4DevconfName, number | undefined][]) {
      if (value !== undefined) w.attr(IPV4_DEVCONF[name], () => w.u32(value));
    }
  },
  decode(b) {
    if (b.length % 4 !== 0) throw new NetlinkMalformedError(`IFLA_INET_CONF of ${b.length} bytes`);
    const view = viewOf(b);
    const conf: Ipv4Devconf = {};
    for (const [name, n] of Object.entries(IPV4_DEVCONF) as [Ipv4DevconfName, number][]) {
      if (n * 4 <= b.length) conf[name] = view.getUint32((n - 1) * 4, HOST_LITTLE_ENDIAN);
    }
    return conf;
  },
};

const INET = attrTable("IFLA_AF_SPEC AF_INET", { conf: [1, ipv4Devconf] });
export type InetAttr = Attr<typeof INET.spec>;

/** IN6_ADDR_GEN_MODE_*: how the kernel makes an interface's IPv6 link-local address; none makes none. */
export const IN6_ADDR_GEN_MODES = { eui64: 0, none: 1, stablePrivacy: 2, random: 3 } as const;
const INET6 = attrTable("IFLA_AF_SPEC AF_INET6", { addrGenMode: [8, u8] });
export type Inet6Attr = Attr<typeof INET6.spec>;

/** IFLA_AF_SPEC of an AF_UNSPEC link message: one container per address family (its number is the type). */
const LINK_AF_SPEC = attrTable("IFLA_AF_SPEC", { inet: [2, nested(INET)], inet6: [10, nested(INET6)] });
export type LinkAfSpecAttr = Attr<typeof LINK_AF_SPEC.spec>;

const LINK = attrTable("ifinfomsg", {
  address: [1, hardwareAddress],
  broadcast: [2, hardwareAddress],
  ifname: [3, string],
  mtu: [4, u32],
  link: [5, u32],
  qdisc: [6, string],
  master: [10, u32],
  txqlen: [13, u32],
  operstate: [16, u8],
  linkmode: [17, u8],
  linkinfo: [18, nested(LINK_INFO)],
  ifalias: [20, string],
  stats64: [23, stats64],
  group: [27, u32],
  netnsFd: [28, u32],
  extMask: [29, u32],
  promiscuity: [30, u32],
  numTxQueues: [31, u32],
  numRxQueues: [32, u32],
  carrier: [33, u8],
  carrierChanges: [35, u32],
  afSpec: [26, nested(LINK_AF_SPEC)],
  linkNetnsid: [37, i32],
  protoDown: [39, u8],
  gsoMaxSegs: [40, u32],
  gsoMaxSize: [41, u32],
  carrierUpCount: [47, u32],
  carrierDownCount: [48, u32],
  minMtu: [50, u32],
  maxMtu: [51, u32],
  altIfname: [53, string],
  permAddress: [54, hardwareAddress],
});
export type LinkAttr = Attr<typeof LINK.spec>;

export const linkMessage: Codec<LinkMessage> = bodyCodec(ifinfomsg, LINK);

/** IFLA_EXT_MASK's RTEXT_FILTER_SKIP_STATS: the kernel leaves a link's counters (and IPv6's) out of its reply. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/**
 * A link as linkSummary reads it: its name, MTU, MAC, master, operational state, kind, and IPv4 settings;
 * the rest of the reply (a bridge's forty-odd IFLA_BR_*, IPv6's settings) is skipped unread.
 */
const LINK_SUMMARY = attrView("ifinfomsg (summary)", {
  address: LINK.spec.address,
  ifname: LINK.spec.ifname,
  mtu: LINK.spec.mtu,
  master: LINK.spec.master,
  operstate: LINK.spec.operstate,
  linkinfo: [18, nested(attrView("IFLA_LINKINFO (kind)", { kind: LINK_INFO.spec.kind }))],
  afSpec: [26, nested(attrView("IFLA_AF_SPEC (inet)", { inet: LINK_AF_SPEC.spec.inet }))],
});

/** Decoding only (see attrView): a reply's attributes that LINK_SUMMARY declares, in LinkMessage's shape. */
export const linkSummaryMessage: Codec<LinkMessage> = bodyCodec(ifinfomsg, LINK_SUMMARY);

/** struct bridge_vlan_info: BRIDGE_VLAN_INFO_* flags and the VLAN id. */
export interface BridgeVlanInfo {
  flags: number;
  vid: number;
}

export const BRIDGE_VLAN_INFO_PVID = 0x2;
export const BRIDGE_VLAN_INFO_UNTAGGED = 0x4;
/** IFLA_BRIDGE_FLAGS: apply to the port through its bridge (MASTER) or to the device itself (SELF). */
export const BRIDGE_FLAGS_MASTER = 0x1;
export const BRIDGE_FLAGS_SELF = 0x2;

const bridgeVlanInfo: Codec<BridgeVlanInfo> = {
  encode(w, v) {
    w.u16(v.flags);
    w.u16(v.vid);
  },
  decode(b) {
    if (b.length !== 4) throw new NetlinkMalformedError(`bridge_vlan_info of ${b.length} bytes`);
    const view = viewOf(b);
    return { flags: view.getUint16(0, HOST_LITTLE_ENDIAN), vid: view.getUint16(2, HOST_LITTLE_ENDIAN) };
  },
};

/** IFLA_AF_SPEC of a PF_BRIDGE message (a different layout from the per-family one of an AF_UNSPEC dump). */
const BRIDGE_AF_SPEC = attrTable("IFLA_AF_SPEC (bridge)", {
  flags: [0, u16],
  mode: [1, u16],
  vlanInfo: [2, bridgeVlanInfo],
});
export type BridgeAfSpecAttr = Attr<typeof BRIDGE_AF_SPEC.spec>;

/**
 * RTM_SETLINK / RTM_DELLINK with family AF_BRIDGE (rtnl_bridge_setlink): a port's IFLA_BRPORT_* flags in
 * IFLA_PROTINFO, which the kernel reads as such only with NLA_F_NESTED set, and VLANs in IFLA_AF_SPEC.
 */
const BRIDGE_LINK = attrTable("ifinfomsg (bridge)", {
  ifname: [3, string],
  master: [10, u32],
  protinfo: [12 | NLA_F_NESTED, nested(BRIDGE_PORT)],
  afSpec: [26, nested(BRIDGE_AF_SPEC)],
});
export type BridgeLinkAttr = Attr<typeof BRIDGE_LINK.spec>;
export interface BridgeLinkMessage {
  header: IfInfoMsg;
  attrs: BridgeLinkAttr[];
}
export const bridgeLinkMessage: Codec<BridgeLinkMessage> = bodyCodec(ifinfomsg, BRIDGE_LINK);
