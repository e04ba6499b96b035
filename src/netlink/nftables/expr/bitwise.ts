// bitwise: dreg = (sreg & mask) ^ xor over len bytes, or a shift of sreg by `data` bits.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { NetlinkMalformedError } from "../../errors.ts";
import { isVerdict, nftData, NLA_F_NESTED, type NftData } from "../data.ts";
import { exprModule, nameOf, need, numberOf, present } from "./module.ts";

const OPS = ["bool", "lshift", "rshift"] as const;

export interface BitwiseExpr {
  type: "bitwise";
  sreg: number;
  dreg: number;
  len: number;
  /** Sent only when given: kernels before 5.6 know only the mask-and-xor form, which is the default. */
  op?: (typeof OPS)[number];
  mask?: Uint8Array;
  xor?: Uint8Array;
  /** The shift amount, for lshift and rshift. */
  data?: Uint8Array;
  unknown?: UnknownAttr[];
}

function value(data: NftData): Uint8Array {
  if (isVerdict(data)) throw new NetlinkMalformedError("bitwise operand is a verdict");
  return data;
}

export const bitwise = exprModule(
  "bitwise",
  {
    sreg: [1, be32],
    dreg: [2, be32],
    len: [3, be32],
    mask: [NLA_F_NESTED | 4, nftData],
    xor: [NLA_F_NESTED | 5, nftData],
    op: [6, be32],
    data: [NLA_F_NESTED | 7, nftData],
  },
  (e: BitwiseExpr) =>
    present([
      ["sreg", e.sreg],
      ["dreg", e.dreg],
      ["op", e.op === undefined ? undefined : numberOf(OPS, e.op)],
      ["len", e.len],
      ["mask", e.mask],
      ["xor", e.xor],
      ["data", e.data],
    ]),
  (a) => {
    const e: Omit<BitwiseExpr, "unknown"> = {
      type: "bitwise",
      sreg: need(a, "sreg", "bitwise"),
      dreg: need(a, "dreg", "bitwise"),
      len: need(a, "len", "bitwise"),
    };
    for (const x of a) {
      if (x.name === "op") e.op = nameOf(OPS, x.value, "bitwise op");
      if (x.name === "mask" || x.name === "xor" || x.name === "data") e[x.name] = value(x.value);
    }
    return e;
  },
);
