// immediate: load a constant into a register; into the verdict register (0) it is the rule's verdict.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { nftData, NLA_F_NESTED, type NftData } from "../data.ts";
import { exprModule, need } from "./module.ts";

export interface ImmediateExpr {
  type: "immediate";
  dreg: number;
  data: NftData;
  unknown?: UnknownAttr[];
}

export const immediate = exprModule(
  "immediate",
  { dreg: [1, be32], data: [NLA_F_NESTED | 2, nftData] },
  (e: ImmediateExpr) => [
    { name: "dreg", value: e.dreg },
    { name: "data", value: e.data },
  ],
  (a) => ({ type: "immediate", dreg: need(a, "dreg", "immediate"), data: need(a, "data", "immediate") }),
);
