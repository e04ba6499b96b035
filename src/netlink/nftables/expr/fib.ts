// fib: a routing lookup on the packet's addresses; `fib daddr type` loads the destination's route type.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { exprModule, nameOf, need, numberOf } from "./module.ts";

const RESULTS = ["unspec", "oif", "oifname", "addrtype"] as const;

/** NFTA_FIB_F_* */
export const FIB_FLAGS = { saddr: 1, daddr: 2, mark: 4, iif: 8, oif: 16, present: 32 } as const;
/** RTN_* route types, as `fib ... type` loads them (4 bytes, host order). */
export const RTN = { unicast: 1, local: 2, broadcast: 3, anycast: 4, multicast: 5, blackhole: 6, unreachable: 7 } as const;

export interface FibExpr {
  type: "fib";
  result: (typeof RESULTS)[number];
  flags: number;
  dreg: number;
  unknown?: UnknownAttr[];
}

export const fib = exprModule(
  "fib",
  { dreg: [1, be32], result: [2, be32], flags: [3, be32] },
  (e: FibExpr) => [
    { name: "flags", value: e.flags },
    { name: "result", value: numberOf(RESULTS, e.result) },
    { name: "dreg", value: e.dreg },
  ],
  (a) => ({
    type: "fib",
    result: nameOf(RESULTS, need(a, "result", "fib"), "fib result"),
    flags: need(a, "flags", "fib"),
    dreg: need(a, "dreg", "fib"),
  }),
);
