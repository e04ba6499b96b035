// NFT_MSG_{NEW,GET,DEL}RULE: nfgenmsg and the NFTA_RULE_* attribute table.
import { attrTable, be32, be64, bytes, string, type Attr } from "../attrs.ts";
import { bodyCodec, type Body } from "../body.ts";
import { NLA_F_NESTED } from "./data.ts";
import { expressions } from "./expr/index.ts";
import { nfgenmsg, type NfGenMsg } from "./nfnl.ts";

const RULE = attrTable("nft rule", {
  table: [1, string],
  chain: [2, string],
  handle: [3, be64],
  expressions: [NLA_F_NESTED | 4, expressions],
  position: [6, be64],
  userdata: [7, bytes],
  id: [9, be32],
  positionId: [10, be32],
  chainId: [11, be32],
});
export type RuleAttr = Attr<typeof RULE.spec>;
export type RuleMessage = Body<NfGenMsg, typeof RULE.spec>;
export const ruleMessage = bodyCodec(nfgenmsg, RULE);
