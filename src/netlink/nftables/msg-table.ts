// NFT_MSG_{NEW,GET,DEL}TABLE: nfgenmsg and the NFTA_TABLE_* attribute table.
import { attrTable, be32, be64, bytes, string, type Attr } from "../attrs.ts";
import { bodyCodec, type Body } from "../body.ts";
import { nfgenmsg, type NfGenMsg } from "./nfnl.ts";

/** NFT_TABLE_F_* */
export const TABLE_FLAGS = { dormant: 1, owner: 2 } as const;

const TABLE = attrTable("nft table", {
  name: [1, string],
  flags: [2, be32],
  use: [3, be32],
  handle: [4, be64],
  userdata: [6, bytes],
  owner: [7, be32],
});
export type TableAttr = Attr<typeof TABLE.spec>;
export type TableMessage = Body<NfGenMsg, typeof TABLE.spec>;
export const tableMessage = bodyCodec(nfgenmsg, TABLE);
