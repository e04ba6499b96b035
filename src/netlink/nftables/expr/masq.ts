// masq: source NAT to the address of the interface the packet leaves by.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { exprModule, present } from "./module.ts";

export interface MasqExpr {
  type: "masq";
  /** NAT_FLAGS bits (random, persistent, ...). */
  flags?: number;
  regProtoMin?: number;
  regProtoMax?: number;
  unknown?: UnknownAttr[];
}

export const masq = exprModule(
  "masq",
  { flags: [1, be32], regProtoMin: [2, be32], regProtoMax: [3, be32] },
  (e: MasqExpr) =>
    present([
      ["flags", e.flags],
      ["regProtoMin", e.regProtoMin],
      ["regProtoMax", e.regProtoMax],
    ]),
  (a) => {
    const e: Omit<MasqExpr, "unknown"> = { type: "masq" };
    for (const x of a) if (x.name !== null) e[x.name] = x.value;
    return e;
  },
);
