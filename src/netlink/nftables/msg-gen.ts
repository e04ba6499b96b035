// NFT_MSG_GETGEN / NFT_MSG_NEWGEN: the ruleset's generation id, which every committed batch increments.
import { attrTable, be32, string } from "../attrs.ts";
import { bodyCodec, type Body } from "../body.ts";
import { nfgenmsg, type NfGenMsg } from "./nfnl.ts";

/** NFT_MSG_NEWGEN, the reply to NFT_MSG_GETGEN and the last notification of every committed batch. */
const GEN = attrTable("nft generation", { id: [1, be32], procPid: [2, be32], procName: [3, string] });
export type GenMessage = Body<NfGenMsg, typeof GEN.spec>;
export const genMessage = bodyCodec(nfgenmsg, GEN);
