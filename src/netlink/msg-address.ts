// RTM_*ADDR messages: struct ifaddrmsg and the IFA_* attribute table.
import { attrTable, i32, ipAddress, string, u32, u8, type Attr } from "./attrs.ts";
import { bodyCodec, type Body, type StructCodec } from "./body.ts";
import { HOST_LITTLE_ENDIAN } from "./wire.ts";

export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;

export const IFA_F_NODAD = 0x02;

export interface IfAddrMsg {
  family: number;
  prefixLength: number;
  /** The low 8 bits of the address flags; IFA_FLAGS carries all 32. */
  flags: number;
  scope: number;
  index: number;
}

const ifaddrmsg: StructCodec<IfAddrMsg> = {
  name: "ifaddrmsg",
  size: 8,
  encode(w, h) {
    w.u8(h.family);
    w.u8(h.prefixLength);
    w.u8(h.flags);
    w.u8(h.scope);
    w.u32(h.index);
  },
  decode: (view) => ({
    family: view.getUint8(0),
    prefixLength: view.getUint8(1),
    flags: view.getUint8(2),
    scope: view.getUint8(3),
    index: view.getUint32(4, HOST_LITTLE_ENDIAN),
  }),
};

const ADDRESS = attrTable("ifaddrmsg", {
  address: [1, ipAddress],
  local: [2, ipAddress],
  label: [3, string],
  broadcast: [4, ipAddress],
  anycast: [5, ipAddress],
  multicast: [7, ipAddress],
  flags: [8, u32],
  routePriority: [9, u32],
  targetNetnsid: [10, i32],
  protocol: [11, u8],
});
export type AddressAttr = Attr<typeof ADDRESS.spec>;
export type AddressMessage = Body<IfAddrMsg, typeof ADDRESS.spec>;

export const addressMessage = bodyCodec(ifaddrmsg, ADDRESS);
