// Sets, maps and their elements in the typed API, and the messages for them.
import { attrValue } from "../attrs.ts";
import { NetlinkMalformedError } from "../errors.ts";
import { isVerdict, type NftData } from "./data.ts";
import {
  ELEM_FLAGS,
  SET_FLAGS,
  type ElemAttr,
  type ElemListAttr,
  type ElemListMessage,
  type SetAttr,
  type SetDescAttr,
  type SetMessage,
} from "./msg-set.ts";
import type { NftFamily } from "./nfnl.ts";
import { familyOf, genHeader } from "./objects.ts";
import { successor, VERDICT_TYPE, type DataType } from "./values.ts";

export type SetFlag = keyof typeof SET_FLAGS;

export interface SetRef {
  family: NftFamily;
  table: string;
  name: string;
}

export interface SetSpec extends SetRef {
  key: DataType;
  /** Makes it a map: to values of this type, or to verdicts. */
  data?: DataType | "verdict";
  /** interval, constant, timeout, ...; map and concat follow from `data` and `key`. */
  flags?: SetFlag[];
  /** Default element lifetime, for sets with the timeout flag. */
  timeoutMs?: number;
  /** A hint of how many elements it will hold. */
  size?: number;
}

export interface NftSet extends SetRef {
  handle: bigint;
  flags: SetFlag[];
  keyType: number;
  keyLen: number;
  dataType?: number;
  dataLen?: number;
  /** Member lengths of a concatenated key, when the set was given them. */
  fields?: number[];
  timeoutMs?: number;
}

export interface SetElement {
  key: Uint8Array;
  /** The end of a range, in a set of concatenated intervals. */
  keyEnd?: Uint8Array;
  /** What a map maps the key to. */
  data?: NftData;
  /** Closes the interval opened by the element before it, in an interval set. */
  intervalEnd?: boolean;
  timeoutMs?: number;
  /** Milliseconds left, in dumps of sets with timeouts. */
  expiresMs?: number;
}

function flagBits(flags: readonly SetFlag[]): number {
  return flags.reduce((bits, f) => bits | SET_FLAGS[f], 0);
}

function flagNames(bits: number): SetFlag[] {
  return (Object.keys(SET_FLAGS) as SetFlag[]).filter((f) => bits & SET_FLAGS[f]);
}

/** `id` names the set to later messages of the same batch (NFTA_SET_ID). */
export function setMessageOf(spec: SetSpec, id: number): SetMessage {
  const flags = new Set(spec.flags ?? []);
  if (spec.data !== undefined) flags.add("map");
  const fields = spec.key.fields;
  // The kernel's concatenated-range backend needs to know where each field ends.
  if (fields !== undefined && flags.has("interval")) flags.add("concat");
  const attrs: SetAttr[] = [
    { name: "table", value: spec.table },
    { name: "name", value: spec.name },
    { name: "flags", value: flagBits([...flags]) },
    { name: "keyType", value: spec.key.id },
    { name: "keyLen", value: spec.key.len },
  ];
  if (spec.data === "verdict") attrs.push({ name: "dataType", value: VERDICT_TYPE });
  else if (spec.data !== undefined) attrs.push({ name: "dataType", value: spec.data.id }, { name: "dataLen", value: spec.data.len });
  if (spec.timeoutMs !== undefined) attrs.push({ name: "timeout", value: BigInt(spec.timeoutMs) });
  const desc: SetDescAttr[] = [];
  if (spec.size !== undefined) desc.push({ name: "size", value: spec.size });
  if (flags.has("concat") && fields !== undefined) {
    desc.push({ name: "concat", value: fields.map((len) => ({ name: "field", value: [{ name: "len", value: len }] })) });
  }
  if (desc.length) attrs.push({ name: "desc", value: desc });
  attrs.push({ name: "id", value: id });
  const userdata = byteorderUserdata(spec.key, spec.data === "verdict" ? undefined : spec.data);
  if (userdata.length) attrs.push({ name: "userdata", value: userdata });
  return { header: genHeader(spec.family), attrs };
}

// libnftnl's set userdata: type-length-value records, NFTNL_UDATA_SET_KEYBYTEORDER (0) and
// NFTNL_UDATA_SET_DATABYTEORDER (1) holding nft's BYTEORDER_HOST_ENDIAN (1) or BYTEORDER_BIG_ENDIAN (2) as a
// host-order u32. Without them nft lists a mark set's elements byte-swapped.
const BYTEORDER = { host: 1, big: 2 } as const;

function byteorderUserdata(key: DataType, data: DataType | undefined): Uint8Array {
  const out: number[] = [];
  for (const [type, t] of [
    [0, key],
    [1, data],
  ] as const) {
    if (t?.byteorder === undefined) continue;
    out.push(type, 4, ...new Uint8Array(new Uint32Array([BYTEORDER[t.byteorder]]).buffer));
  }
  return Uint8Array.from(out);
}

export function setRefMessage(ref: SetRef): SetMessage {
  return {
    header: genHeader(ref.family),
    attrs: [
      { name: "table", value: ref.table },
      { name: "name", value: ref.name },
    ],
  };
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new NetlinkMalformedError(`set without its ${what} attribute`);
  return value;
}

export function toSet(msg: SetMessage): NftSet {
  const { attrs } = msg;
  const set: NftSet = {
    family: familyOf(msg.header),
    table: need(attrValue(attrs, "table"), "table"),
    name: need(attrValue(attrs, "name"), "name"),
    handle: attrValue(attrs, "handle") ?? 0n,
    flags: flagNames(attrValue(attrs, "flags") ?? 0),
    keyType: attrValue(attrs, "keyType") ?? 0,
    // a deleted set's notification names it and no more
    keyLen: attrValue(attrs, "keyLen") ?? 0,
  };
  const dataType = attrValue(attrs, "dataType");
  if (dataType !== undefined) set.dataType = dataType;
  const dataLen = attrValue(attrs, "dataLen");
  if (dataLen !== undefined) set.dataLen = dataLen;
  const timeout = attrValue(attrs, "timeout");
  if (timeout !== undefined) set.timeoutMs = Number(timeout);
  const concat = attrValue(attrValue(attrs, "desc") ?? [], "concat");
  if (concat !== undefined) {
    set.fields = concat.flatMap((f) => (f.name === "field" ? [attrValue(f.value, "len") ?? 0] : []));
  }
  return set;
}

function elemAttrs(e: SetElement): ElemAttr[] {
  const attrs: ElemAttr[] = [];
  if (e.intervalEnd) attrs.push({ name: "flags", value: ELEM_FLAGS.intervalEnd });
  attrs.push({ name: "key", value: e.key });
  if (e.keyEnd !== undefined) attrs.push({ name: "keyEnd", value: e.keyEnd });
  if (e.data !== undefined) attrs.push({ name: "data", value: e.data });
  if (e.timeoutMs !== undefined) attrs.push({ name: "timeout", value: BigInt(e.timeoutMs) });
  return attrs;
}

/** Elements to add or delete; none (for a delete) flushes the set. */
export function elementsMessageOf(set: SetRef, elements: readonly SetElement[] | null): ElemListMessage {
  const attrs: ElemListAttr[] = [
    { name: "table", value: set.table },
    { name: "set", value: set.name },
  ];
  if (elements !== null) attrs.push({ name: "elements", value: elements.map((e) => ({ name: "elem", value: elemAttrs(e) })) });
  return { header: genHeader(set.family), attrs };
}

export function toElement(attrs: ElemAttr[]): SetElement {
  const key = attrValue(attrs, "key");
  if (key === undefined || isVerdict(key)) throw new NetlinkMalformedError("set element without a key");
  const e: SetElement = { key };
  const flags = attrValue(attrs, "flags") ?? 0;
  if (flags & ELEM_FLAGS.intervalEnd) e.intervalEnd = true;
  const keyEnd = attrValue(attrs, "keyEnd");
  if (keyEnd !== undefined && !isVerdict(keyEnd)) e.keyEnd = keyEnd;
  const data = attrValue(attrs, "data");
  if (data !== undefined) e.data = data;
  const timeout = attrValue(attrs, "timeout");
  if (timeout !== undefined) e.timeoutMs = Number(timeout);
  const expiration = attrValue(attrs, "expiration");
  if (expiration !== undefined) e.expiresMs = Number(expiration);
  return e;
}

export function toElements(msg: ElemListMessage): { set: SetRef; elements: SetElement[] } {
  const { attrs } = msg;
  const set = {
    family: familyOf(msg.header),
    table: need(attrValue(attrs, "table"), "table"),
    name: need(attrValue(attrs, "set"), "set"),
  };
  const elements = (attrValue(attrs, "elements") ?? []).flatMap((a) => (a.name === "elem" ? [toElement(a.value)] : []));
  return { set, elements };
}

/**
 * The elements of an interval set holding the inclusive range [from, to] (single-field keys): the start,
 * and an end element just past `to` unless `to` is the largest value. Sets with concatenated keys take
 * one element with `keyEnd` instead.
 */
export function intervalElements(from: Uint8Array, to: Uint8Array, data?: NftData): SetElement[] {
  const start: SetElement = data === undefined ? { key: from } : { key: from, data };
  const end = successor(to);
  return end === null ? [start] : [start, { key: end, intervalEnd: true }];
}
