// cmp: compare a register with a constant; a false comparison ends the rule.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { NetlinkMalformedError } from "../../errors.ts";
import { isVerdict, nftData, NLA_F_NESTED } from "../data.ts";
import { exprModule, nameOf, need, numberOf } from "./module.ts";

const OPS = ["eq", "neq", "lt", "lte", "gt", "gte"] as const;
export type CmpOp = (typeof OPS)[number];

export interface CmpExpr {
  type: "cmp";
  sreg: number;
  op: CmpOp;
  data: Uint8Array;
  unknown?: UnknownAttr[];
}

export const cmp = exprModule(
  "cmp",
  { sreg: [1, be32], op: [2, be32], data: [NLA_F_NESTED | 3, nftData] },
  (e: CmpExpr) => [
    { name: "sreg", value: e.sreg },
    { name: "op", value: numberOf(OPS, e.op) },
    { name: "data", value: e.data },
  ],
  (a) => {
    const data = need(a, "data", "cmp");
    if (isVerdict(data)) throw new NetlinkMalformedError("cmp against a verdict");
    return { type: "cmp", sreg: need(a, "sreg", "cmp"), op: nameOf(OPS, need(a, "op", "cmp"), "cmp op"), data };
  },
);
