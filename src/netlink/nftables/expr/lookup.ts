// lookup: is the key in sreg an element of a set? For a map, dreg receives the element's data.
import { be32, string, type UnknownAttr } from "../../attrs.ts";
import { exprModule, need, present } from "./module.ts";

/** NFT_LOOKUP_F_INV: match when the key is absent. */
export const NFT_LOOKUP_F_INV = 1;

export interface LookupExpr {
  type: "lookup";
  set: string;
  sreg: number;
  dreg?: number;
  /** Names a set added earlier in the same batch (NFTA_SET_ID). */
  setId?: number;
  flags?: number;
  unknown?: UnknownAttr[];
}

export const lookup = exprModule(
  "lookup",
  { set: [1, string], sreg: [2, be32], dreg: [3, be32], setId: [4, be32], flags: [5, be32] },
  (e: LookupExpr) =>
    present([
      ["sreg", e.sreg],
      ["dreg", e.dreg],
      ["set", e.set],
      ["setId", e.setId],
      ["flags", e.flags],
    ]),
  (a) => {
    const e: Omit<LookupExpr, "unknown"> = { type: "lookup", set: need(a, "set", "lookup"), sreg: need(a, "sreg", "lookup") };
    for (const x of a) if (x.name === "dreg" || x.name === "setId" || x.name === "flags") e[x.name] = x.value;
    return e;
  },
);
