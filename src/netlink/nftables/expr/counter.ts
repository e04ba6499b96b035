// counter: packets and bytes that reached it.
import { be64, type UnknownAttr } from "../../attrs.ts";
import { exprModule, present } from "./module.ts";

export interface CounterExpr {
  type: "counter";
  bytes?: bigint;
  packets?: bigint;
  unknown?: UnknownAttr[];
}

export const counter = exprModule(
  "counter",
  { bytes: [1, be64], packets: [2, be64] },
  (e: CounterExpr) =>
    present([
      ["bytes", e.bytes],
      ["packets", e.packets],
    ]),
  (a) => {
    const e: Omit<CounterExpr, "unknown"> = { type: "counter" };
    for (const x of a) if (x.name !== null) e[x.name] = x.value;
    return e;
  },
);
