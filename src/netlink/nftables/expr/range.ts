// range: is the register's value within [from, to] (or outside it, with neq)?
import { be32, type UnknownAttr } from "../../attrs.ts";
import { NetlinkMalformedError } from "../../errors.ts";
import { isVerdict, nftData, NLA_F_NESTED, type NftData } from "../data.ts";
import { exprModule, nameOf, need, numberOf } from "./module.ts";

const OPS = ["eq", "neq"] as const;

export interface RangeExpr {
  type: "range";
  sreg: number;
  op: (typeof OPS)[number];
  from: Uint8Array;
  to: Uint8Array;
  unknown?: UnknownAttr[];
}

function value(data: NftData): Uint8Array {
  if (isVerdict(data)) throw new NetlinkMalformedError("range bound is a verdict");
  return data;
}

export const range = exprModule(
  "range",
  { sreg: [1, be32], op: [2, be32], from: [NLA_F_NESTED | 3, nftData], to: [NLA_F_NESTED | 4, nftData] },
  (e: RangeExpr) => [
    { name: "sreg", value: e.sreg },
    { name: "op", value: numberOf(OPS, e.op) },
    { name: "from", value: e.from },
    { name: "to", value: e.to },
  ],
  (a) => ({
    type: "range",
    sreg: need(a, "sreg", "range"),
    op: nameOf(OPS, need(a, "op", "range"), "range op"),
    from: value(need(a, "from", "range")),
    to: value(need(a, "to", "range")),
  }),
);
