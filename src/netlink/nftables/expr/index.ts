// A rule's expressions: the typed union, and NFTA_RULE_EXPRESSIONS on the wire (a list of NFTA_LIST_ELEM,
// each holding NFTA_EXPR_NAME and NFTA_EXPR_DATA). An expression this code does not know, or whose
// attributes it cannot read, is kept as its name and raw data, and written back unchanged.
import { attrTable, attrValue, bytes, decodeAttrs, encodeAttrs, string, type AnyAttr, type Codec } from "../../attrs.ts";
import { NetlinkMalformedError } from "../../errors.ts";
import { NLA_F_NESTED } from "../data.ts";
import { bitwise, type BitwiseExpr } from "./bitwise.ts";
import { cmp, type CmpExpr } from "./cmp.ts";
import { counter, type CounterExpr } from "./counter.ts";
import { ct, type CtExpr } from "./ct.ts";
import { fib, type FibExpr } from "./fib.ts";
import { immediate, type ImmediateExpr } from "./immediate.ts";
import { lookup, type LookupExpr } from "./lookup.ts";
import { masq, type MasqExpr } from "./masq.ts";
import { meta, type MetaExpr } from "./meta.ts";
import type { ExprModule } from "./module.ts";
import { nat, type NatExpr } from "./nat.ts";
import { payload, type PayloadExpr } from "./payload.ts";
import { range, type RangeExpr } from "./range.ts";
import { redir, type RedirExpr } from "./redir.ts";

export interface UnknownExpr {
  type: "unknown";
  name: string;
  /** NFTA_EXPR_DATA's content, as received. */
  data: Uint8Array;
}

export type Expr =
  | PayloadExpr
  | CmpExpr
  | MetaExpr
  | LookupExpr
  | NatExpr
  | MasqExpr
  | RedirExpr
  | CtExpr
  | FibExpr
  | ImmediateExpr
  | CounterExpr
  | BitwiseExpr
  | RangeExpr
  | UnknownExpr;

type Known = Exclude<Expr, UnknownExpr>;

const MODULES: { [T in Known["type"]]: ExprModule<Extract<Known, { type: T }>> } = {
  payload,
  cmp,
  meta,
  lookup,
  nat,
  masq,
  redir,
  ct,
  fib,
  immediate,
  counter,
  bitwise,
  range,
};

const BY_NAME = new Map<string, ExprModule<Known>>(Object.values(MODULES).map((m) => [m.name, m as ExprModule<Known>]));

const EXPR = attrTable("nft expression", { name: [1, string], data: [NLA_F_NESTED | 2, bytes] });

function moduleOf(e: Known): ExprModule<Known> {
  return MODULES[e.type] as ExprModule<Known>;
}

/** One expression: NFTA_EXPR_NAME, then NFTA_EXPR_DATA (present even when empty, as libnftnl sends it). */
export const expression: Codec<Expr> = {
  encode(w, e) {
    const name = e.type === "unknown" ? e.name : moduleOf(e).name;
    w.attr(1, () => string.encode(w, name));
    w.attr(NLA_F_NESTED | 2, () => {
      if (e.type === "unknown") w.bytes(e.data);
      else encodeAttrs(w, moduleOf(e).table, moduleOf(e).toAttrs(e) as never);
    });
  },
  decode(b) {
    const attrs = decodeAttrs(EXPR, b);
    const name = attrValue(attrs, "name");
    if (name === undefined) throw new NetlinkMalformedError("expression without NFTA_EXPR_NAME");
    const data = attrValue(attrs, "data") ?? new Uint8Array();
    const module = BY_NAME.get(name);
    if (module !== undefined) {
      try {
        return module.fromAttrs(decodeAttrs(module.table, data) as AnyAttr[]);
      } catch (err) {
        if (!(err instanceof NetlinkMalformedError)) throw err;
      }
    }
    return { type: "unknown", name, data };
  },
};

const LIST = attrTable("nft expression list", { expr: [NLA_F_NESTED | 1, expression] });

/** NFTA_RULE_EXPRESSIONS' content. */
export const expressions: Codec<Expr[]> = {
  encode: (w, list) => encodeAttrs(w, LIST, list.map((value) => ({ name: "expr", value }))),
  decode: (b) => {
    const out: Expr[] = [];
    for (const a of decodeAttrs(LIST, b)) {
      if (a.name === null) throw new NetlinkMalformedError(`expression list holds attribute type ${a.type}`);
      out.push(a.value);
    }
    return out;
  },
};

export type { BitwiseExpr, CmpExpr, CounterExpr, CtExpr, FibExpr, ImmediateExpr, LookupExpr, MasqExpr, MetaExpr, NatExpr, PayloadExpr, RangeExpr, RedirExpr };
export { CT_DIRECTION, CT_STATE, type CtKey, type CtDirection } from "./ct.ts";
export { FIB_FLAGS, RTN } from "./fib.ts";
export { NAT_FLAGS } from "./nat.ts";
export { NFT_LOOKUP_F_INV } from "./lookup.ts";
export { FIELDS, load, type PayloadBase } from "./payload.ts";
export type { CmpOp } from "./cmp.ts";
export type { MetaKey } from "./meta.ts";
