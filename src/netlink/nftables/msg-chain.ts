// NFT_MSG_{NEW,GET,DEL}CHAIN: nfgenmsg and the NFTA_CHAIN_* attribute table (with its hook and counters).
import { attrTable, be32, be32signed, be64, bytes, nested, string, type Attr } from "../attrs.ts";
import { bodyCodec, type Body } from "../body.ts";
import { NLA_F_NESTED } from "./data.ts";
import { nfgenmsg, type NfGenMsg } from "./nfnl.ts";

const HOOK = attrTable("nft chain hook", {
  hooknum: [1, be32],
  priority: [2, be32signed],
  dev: [3, string],
});
export type HookAttr = Attr<typeof HOOK.spec>;

const COUNTERS = attrTable("nft chain counters", { bytes: [1, be64], packets: [2, be64] });

const CHAIN = attrTable("nft chain", {
  table: [1, string],
  handle: [2, be64],
  name: [3, string],
  hook: [NLA_F_NESTED | 4, nested(HOOK)],
  policy: [5, be32],
  use: [6, be32],
  type: [7, string],
  counters: [NLA_F_NESTED | 8, nested(COUNTERS)],
  flags: [10, be32],
  id: [11, be32],
  userdata: [12, bytes],
});
export type ChainAttr = Attr<typeof CHAIN.spec>;
export type ChainMessage = Body<NfGenMsg, typeof CHAIN.spec>;
export const chainMessage = bodyCodec(nfgenmsg, CHAIN);
