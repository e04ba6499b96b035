// redir: destination NAT to the host itself, on the port held in a register.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { exprModule, present } from "./module.ts";

export interface RedirExpr {
  type: "redir";
  regProtoMin?: number;
  regProtoMax?: number;
  /** NAT_FLAGS bits. */
  flags?: number;
  unknown?: UnknownAttr[];
}

export const redir = exprModule(
  "redir",
  { regProtoMin: [1, be32], regProtoMax: [2, be32], flags: [3, be32] },
  (e: RedirExpr) =>
    present([
      ["regProtoMin", e.regProtoMin],
      ["regProtoMax", e.regProtoMax],
      ["flags", e.flags],
    ]),
  (a) => {
    const e: Omit<RedirExpr, "unknown"> = { type: "redir" };
    for (const x of a) if (x.name !== null) e[x.name] = x.value;
    return e;
  },
);
