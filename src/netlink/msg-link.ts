// RTM_*LINK messages: struct ifinfomsg, the IFLA_* attribute table, IFLA_LINKINFO with its per-kind data,
// and struct rtnl_link_stats64.
import {
  attrTable,
  bytes,
  decodeAttrs,
  encodeAttrs,
  hardwareAddress,
  i32,
  lazy,
  nested,
  string,
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

/** IFLA_INFO_DATA, read according to IFLA_INFO_KIND; kinds without a table here stay raw. */
export type InfoData = { kind: "veth"; attrs: VethAttr[] } | { kind: null; bytes: Uint8Array };

const infoData: Codec<InfoData> = {
  encode(w, data) {
    if (data.kind === "veth") encodeAttrs(w, VETH, data.attrs);
    else w.bytes(data.bytes);
  },
  decode(b, siblings) {
    const kind = siblings.find((a) => a.name === "kind")?.value;
    if (kind === "veth") return { kind, attrs: decodeAttrs(VETH, b) };
    return { kind: null, bytes: b.slice() };
  },
};

const LINK_INFO = attrTable("IFLA_LINKINFO", {
  kind: [1, string],
  data: [2, infoData],
  slaveKind: [4, string],
  slaveData: [5, bytes],
});
export type LinkInfoAttr = Attr<typeof LINK_INFO.spec>;

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
