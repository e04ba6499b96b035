// payload: load bytes of a packet header into a register (dreg), or write a register into it (sreg, with
// checksum fix-up).
import { be32 } from "../../attrs.ts";
import type { UnknownAttr } from "../../attrs.ts";
import { exprModule, nameOf, need, numberOf, present } from "./module.ts";

const BASES = ["ll", "network", "transport", "inner"] as const;
export type PayloadBase = (typeof BASES)[number];

export interface PayloadExpr {
  type: "payload";
  base: PayloadBase;
  offset: number;
  len: number;
  dreg?: number;
  sreg?: number;
  csumType?: number;
  csumOffset?: number;
  csumFlags?: number;
  unknown?: UnknownAttr[];
}

export const payload = exprModule(
  "payload",
  {
    dreg: [1, be32],
    base: [2, be32],
    offset: [3, be32],
    len: [4, be32],
    sreg: [5, be32],
    csumType: [6, be32],
    csumOffset: [7, be32],
    csumFlags: [8, be32],
  },
  (e: PayloadExpr) =>
    present([
      ["sreg", e.sreg],
      ["dreg", e.dreg],
      ["base", numberOf(BASES, e.base)],
      ["offset", e.offset],
      ["len", e.len],
      ["csumType", e.csumType],
      ["csumOffset", e.csumOffset],
      ["csumFlags", e.csumFlags],
    ]),
  (a) => {
    const e: Omit<PayloadExpr, "unknown"> = {
      type: "payload",
      base: nameOf(BASES, need(a, "base", "payload"), "payload base"),
      offset: need(a, "offset", "payload"),
      len: need(a, "len", "payload"),
    };
    for (const x of a) if (x.name !== null && x.name !== "base" && x.name !== "offset" && x.name !== "len") e[x.name] = x.value;
    return e;
  },
);

/** Header fields the firewall reads, as (base, offset, length). */
export const FIELDS = {
  ip: { saddr: ["network", 12, 4], daddr: ["network", 16, 4], protocol: ["network", 9, 1] },
  ip6: { saddr: ["network", 8, 16], daddr: ["network", 24, 16], nexthdr: ["network", 6, 1] },
  th: { sport: ["transport", 0, 2], dport: ["transport", 2, 2] },
} as const;

/** A payload load of a named header field into dreg, e.g. `load(FIELDS.ip.daddr, 1)`. */
export function load(field: readonly [PayloadBase, number, number], dreg: number): PayloadExpr {
  const [base, offset, len] = field;
  return { type: "payload", base, offset, len, dreg };
}
