// RTM_*ROUTE messages: struct rtmsg and the RTA_* attribute table.
import { attrTable, ipAddress, u32, u8, type Attr } from "./attrs.ts";
import { bodyCodec, type Body, type StructCodec } from "./body.ts";
import { HOST_LITTLE_ENDIAN } from "./wire.ts";

export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;

export const RT_TABLE_MAIN = 254;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;

export interface RtMsg {
  family: number;
  dstLength: number;
  srcLength: number;
  tos: number;
  /** Only tables below 256 fit here; RTA_TABLE holds the full number. */
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

const rtmsg: StructCodec<RtMsg> = {
  name: "rtmsg",
  size: 12,
  encode(w, h) {
    w.u8(h.family);
    w.u8(h.dstLength);
    w.u8(h.srcLength);
    w.u8(h.tos);
    w.u8(h.table);
    w.u8(h.protocol);
    w.u8(h.scope);
    w.u8(h.type);
    w.u32(h.flags);
  },
  decode: (view) => ({
    family: view.getUint8(0),
    dstLength: view.getUint8(1),
    srcLength: view.getUint8(2),
    tos: view.getUint8(3),
    table: view.getUint8(4),
    protocol: view.getUint8(5),
    scope: view.getUint8(6),
    type: view.getUint8(7),
    flags: view.getUint32(8, HOST_LITTLE_ENDIAN),
  }),
};

const ROUTE = attrTable("rtmsg", {
  dst: [1, ipAddress],
  src: [2, ipAddress],
  iif: [3, u32],
  oif: [4, u32],
  gateway: [5, ipAddress],
  priority: [6, u32],
  prefsrc: [7, ipAddress],
  table: [15, u32],
  mark: [16, u32],
  pref: [20, u8],
});
export type RouteAttr = Attr<typeof ROUTE.spec>;
export type RouteMessage = Body<RtMsg, typeof ROUTE.spec>;

export const routeMessage = bodyCodec(rtmsg, ROUTE);
