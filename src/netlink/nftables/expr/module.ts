// What every expression module provides: its NFTA_EXPR_NAME, its attribute table, and the conversion
// between the typed expression and its attributes. Unknown attributes ride along in `unknown`.
import { attrTable, attrValue, type AnyAttr, type Attr, type AttrSpec, type AttrTable, type UnknownAttr } from "../../attrs.ts";
import { NetlinkMalformedError } from "../../errors.ts";
import { unknownOf } from "../data.ts";

export interface ExprModule<E extends { type: string }> {
  readonly name: string;
  readonly table: AttrTable<AttrSpec>;
  toAttrs(e: E): AnyAttr[];
  /** Throws NetlinkMalformedError when a required attribute is missing; the caller keeps the raw bytes then. */
  fromAttrs(attrs: AnyAttr[]): E;
}

type Known<E> = Omit<E, "unknown">;

export function exprModule<const S extends AttrSpec, E extends { type: string; unknown?: UnknownAttr[] }>(
  name: string,
  spec: S,
  toAttrs: (e: E) => Attr<S>[],
  fromAttrs: (attrs: Attr<S>[]) => Known<E>,
): ExprModule<E> {
  const table = attrTable(`nft expression ${name}`, spec);
  return {
    name,
    table,
    toAttrs: (e) => [...(toAttrs(e) as AnyAttr[]), ...(e.unknown ?? [])],
    fromAttrs: (attrs) => {
      const e = fromAttrs(attrs as Attr<S>[]) as E;
      const unknown = unknownOf(attrs);
      if (unknown) e.unknown = unknown;
      return e;
    },
  };
}

/** The value of a required attribute. */
export function need<A extends AnyAttr, K extends Exclude<A["name"], null>>(
  attrs: readonly A[],
  name: K,
  expr: string,
): Extract<A, { name: K }>["value"] {
  const value = attrValue(attrs, name);
  if (value === undefined) throw new NetlinkMalformedError(`${expr} expression without its ${name} attribute`);
  return value;
}

/** Attributes for the fields that are set, in the order given. */
export function present<S extends AttrSpec>(pairs: readonly (readonly [keyof S & string, unknown])[]): Attr<S>[] {
  return pairs.filter(([, v]) => v !== undefined).map(([name, value]) => ({ name, value }) as Attr<S>);
}

/** A symbolic name for an enum's number; a number the list does not know is a malformed expression. */
export function nameOf<T extends string>(names: readonly T[], n: number, what: string): T {
  const name = names[n];
  if (name === undefined) throw new NetlinkMalformedError(`${what} ${n}`);
  return name;
}

export function numberOf<T extends string>(names: readonly T[], name: T): number {
  const n = names.indexOf(name);
  if (n < 0) throw new RangeError(`unknown name "${name}"`);
  return n;
}
