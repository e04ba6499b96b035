// NFT_MSG_{NEW,GET,DEL}SET and NFT_MSG_{NEW,GET,DEL}SETELEM: nfgenmsg and the NFTA_SET_* and
// NFTA_SET_ELEM_LIST_* / NFTA_SET_ELEM_* attribute tables.
import { attrTable, be32, be64, bytes, nested, string, type Attr } from "../attrs.ts";
import { bodyCodec, type Body } from "../body.ts";
import { nftData, NLA_F_NESTED } from "./data.ts";
import { nfgenmsg, type NfGenMsg } from "./nfnl.ts";

/** NFT_SET_* */
export const SET_FLAGS = {
  anonymous: 0x1,
  constant: 0x2,
  interval: 0x4,
  map: 0x8,
  timeout: 0x10,
  eval: 0x20,
  object: 0x40,
  concat: 0x80,
  expr: 0x100,
} as const;

/** NFT_SET_ELEM_* */
export const ELEM_FLAGS = { intervalEnd: 1, catchall: 2 } as const;

const FIELD = attrTable("nft set field", { len: [1, be32] });
const FIELDS = attrTable("nft set fields", { field: [NLA_F_NESTED | 1, nested(FIELD)] });
const DESC = attrTable("nft set desc", {
  size: [1, be32],
  concat: [NLA_F_NESTED | 2, nested(FIELDS)],
});
export type SetDescAttr = Attr<typeof DESC.spec>;

const SET = attrTable("nft set", {
  table: [1, string],
  name: [2, string],
  flags: [3, be32],
  keyType: [4, be32],
  keyLen: [5, be32],
  dataType: [6, be32],
  dataLen: [7, be32],
  policy: [8, be32],
  desc: [NLA_F_NESTED | 9, nested(DESC)],
  id: [10, be32],
  timeout: [11, be64],
  gcInterval: [12, be32],
  userdata: [13, bytes],
  objType: [15, be32],
  handle: [16, be64],
});
export type SetAttr = Attr<typeof SET.spec>;
export type SetMessage = Body<NfGenMsg, typeof SET.spec>;
export const setMessage = bodyCodec(nfgenmsg, SET);

const ELEM = attrTable("nft set element", {
  key: [NLA_F_NESTED | 1, nftData],
  data: [NLA_F_NESTED | 2, nftData],
  flags: [3, be32],
  timeout: [4, be64],
  expiration: [5, be64],
  userdata: [6, bytes],
  keyEnd: [NLA_F_NESTED | 10, nftData],
});
export type ElemAttr = Attr<typeof ELEM.spec>;

const ELEMS = attrTable("nft set elements", { elem: [NLA_F_NESTED | 1, nested(ELEM)] });

const ELEM_LIST = attrTable("nft set element list", {
  table: [1, string],
  set: [2, string],
  elements: [NLA_F_NESTED | 3, nested(ELEMS)],
  setId: [4, be32],
});
export type ElemListAttr = Attr<typeof ELEM_LIST.spec>;
export type ElemListMessage = Body<NfGenMsg, typeof ELEM_LIST.spec>;
export const elemListMessage = bodyCodec(nfgenmsg, ELEM_LIST);
