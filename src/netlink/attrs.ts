// Attributes (struct rtattr / struct nlattr: u16 length, u16 type, content, zero padding to 4 bytes),
// declared in tables: name -> [type number, codec]. A decoded container is a list, so order and repeated
// attributes survive a decode/encode round trip; attributes a table does not know are kept as raw bytes.
import { formatIP, formatMac, parseIP } from "../ip/codec.ts";
import { NetlinkMalformedError } from "./errors.ts";
import { align4, HOST_LITTLE_ENDIAN, NLA_HDRLEN, viewOf, type Writer } from "./wire.ts";

// The top two bits of the type field are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
const NLA_TYPE_MASK = 0x3fff;

export interface Codec<T> {
  encode(w: Writer, value: T): void;
  /**
   * `siblings` are the attributes already decoded from the same container: a few payloads only make
   * sense in context (IFLA_INFO_DATA is read according to IFLA_INFO_KIND, which the kernel puts first).
   */
  decode(bytes: Uint8Array, siblings: readonly AnyAttr[]): T;
}

/** An attribute the table does not declare, or whose content its codec could not read. */
export interface UnknownAttr {
  name: null;
  /** The type field as received, flag bits included. */
  type: number;
  value: Uint8Array;
}

export type AnyAttr = { name: string; value: unknown } | UnknownAttr;

type Entry = readonly [type: number, codec: Codec<any>];
export type AttrSpec = Readonly<Record<string, Entry>>;
type ValueOf<E> = E extends readonly [number, Codec<infer T>] ? T : never;

/** One attribute of a container declared by spec S. */
export type Attr<S extends AttrSpec> =
  | { [K in keyof S & string]: { name: K; value: ValueOf<S[K]> } }[keyof S & string]
  | UnknownAttr;

export interface AttrTable<S extends AttrSpec> {
  /** Names the container in error messages. */
  readonly container: string;
  readonly spec: S;
  readonly byType: ReadonlyMap<number, readonly [string, Codec<unknown>]>;
  /** A view (attrView): attributes it does not declare are skipped, not kept. */
  readonly partial?: true;
}

/** Table entries carry the flag bits the kernel sets (NLA_F_NESTED), so re-encoding reproduces them. */
export function attrTable<const S extends AttrSpec>(container: string, spec: S): AttrTable<S> {
  const byType = new Map<number, readonly [string, Codec<unknown>]>();
  for (const [name, [type, codec]] of Object.entries(spec)) byType.set(type & NLA_TYPE_MASK, [name, codec]);
  return { container, spec, byType };
}

/**
 * A table for reading a few attributes of a large container and nothing else: what it does not declare is
 * skipped without a copy, so a decode costs what the caller reads, not what the kernel sends. Decoding
 * only: a view re-encodes to fewer bytes than it read.
 */
export function attrView<const S extends AttrSpec>(container: string, spec: S): AttrTable<S> {
  return { ...attrTable(container, spec), partial: true };
}

export function encodeAttrs<S extends AttrSpec>(w: Writer, table: AttrTable<S>, attrs: readonly Attr<S>[]): void {
  for (const attr of attrs as readonly AnyAttr[]) {
    if (attr.name === null) {
      w.attr(attr.type, () => w.bytes(attr.value));
      continue;
    }
    const entry = table.spec[attr.name];
    if (entry === undefined) throw new RangeError(`${table.container} has no attribute "${attr.name}"`);
    const [type, codec] = entry;
    w.attr(type, () => codec.encode(w, attr.value));
  }
}

export function decodeAttrs<S extends AttrSpec>(table: AttrTable<S>, bytes: Uint8Array): Attr<S>[] {
  const view = viewOf(bytes);
  const out: AnyAttr[] = [];
  let offset = 0;
  while (offset + NLA_HDRLEN <= bytes.length) {
    const length = view.getUint16(offset, HOST_LITTLE_ENDIAN);
    const type = view.getUint16(offset + 2, HOST_LITTLE_ENDIAN);
    if (length < NLA_HDRLEN || offset + length > bytes.length) {
      throw new NetlinkMalformedError(`${table.container} attribute at offset ${offset} has length ${length} in ${bytes.length} bytes`);
    }
    if (!table.partial || table.byType.has(type & NLA_TYPE_MASK)) out.push(decodeOne(table, type, bytes.subarray(offset + NLA_HDRLEN, offset + length), out));
    offset += align4(length);
  }
  return out as Attr<S>[];
}

function decodeOne(table: AttrTable<AttrSpec>, type: number, content: Uint8Array, siblings: AnyAttr[]): AnyAttr {
  const entry = table.byType.get(type & NLA_TYPE_MASK);
  if (entry !== undefined) {
    const [name, codec] = entry;
    try {
      return { name, value: codec.decode(content, siblings) };
    } catch (err) {
      // A newer kernel may change an attribute's layout; keeping its bytes beats failing the whole reply.
      if (!(err instanceof NetlinkMalformedError)) throw err;
    }
  }
  return { name: null, type, value: content.slice() };
}

/** The value of the first attribute with this name. */
export function attrValue<A extends AnyAttr, K extends Exclude<A["name"], null>>(
  attrs: readonly A[],
  name: K,
): Extract<A, { name: K }>["value"] | undefined {
  const found = attrs.find((a) => a.name === name);
  return found?.value as Extract<A, { name: K }>["value"] | undefined;
}

export function nested<S extends AttrSpec>(table: AttrTable<S>): Codec<Attr<S>[]> {
  return {
    encode: (w, attrs) => encodeAttrs(w, table, attrs),
    decode: (bytes) => decodeAttrs(table, bytes),
  };
}

/** Defers a codec to first use, for containers that (indirectly) contain themselves. */
export function lazy<T>(get: () => Codec<T>): Codec<T> {
  return {
    encode: (w, value) => get().encode(w, value),
    decode: (bytes, siblings) => get().decode(bytes, siblings),
  };
}

function sized(bytes: Uint8Array, size: number, what: string): DataView {
  if (bytes.length !== size) throw new NetlinkMalformedError(`${what} of ${bytes.length} bytes, expected ${size}`);
  return viewOf(bytes);
}

export const u8: Codec<number> = {
  encode: (w, v) => w.u8(v),
  decode: (b) => sized(b, 1, "u8").getUint8(0),
};

export const u16: Codec<number> = {
  encode: (w, v) => w.u16(v),
  decode: (b) => sized(b, 2, "u16").getUint16(0, HOST_LITTLE_ENDIAN),
};

export const u32: Codec<number> = {
  encode: (w, v) => w.u32(v),
  decode: (b) => sized(b, 4, "u32").getUint32(0, HOST_LITTLE_ENDIAN),
};

export const i32: Codec<number> = {
  encode: (w, v) => w.i32(v),
  decode: (b) => sized(b, 4, "i32").getInt32(0, HOST_LITTLE_ENDIAN),
};

export const u64: Codec<bigint> = {
  encode: (w, v) => w.u64(v),
  decode: (b) => sized(b, 8, "u64").getBigUint64(0, HOST_LITTLE_ENDIAN),
};

// Network byte order, as nf_tables carries its integers.

export const be32: Codec<number> = {
  encode: (w, v) => {
    const b = new Uint8Array(4);
    viewOf(b).setUint32(0, v >>> 0, false);
    w.bytes(b);
  },
  decode: (b) => sized(b, 4, "be32").getUint32(0, false),
};

/** A signed value sent as a be32 (chain priorities, verdict codes). */
export const be32signed: Codec<number> = {
  encode: (w, v) => be32.encode(w, v >>> 0),
  decode: (b) => sized(b, 4, "be32").getInt32(0, false),
};

export const be64: Codec<bigint> = {
  encode: (w, v) => {
    const b = new Uint8Array(8);
    viewOf(b).setBigUint64(0, v, false);
    w.bytes(b);
  },
  decode: (b) => sized(b, 8, "be64").getBigUint64(0, false),
};

/** NUL-terminated on the wire; the terminator is not part of the value. */
export const string: Codec<string> = {
  encode: (w, v) => {
    w.bytes(Buffer.from(v, "utf8"));
    w.u8(0);
  },
  decode: (b) => {
    const end = b.indexOf(0);
    return Buffer.from(b.buffer, b.byteOffset, end < 0 ? b.length : end).toString("utf8");
  },
};

export const bytes: Codec<Uint8Array> = {
  encode: (w, v) => w.bytes(v),
  decode: (b) => b.slice(),
};

export const ipAddress: Codec<string> = {
  encode: (w, v) => {
    const parsed = parseIP(v);
    if (parsed === null) throw new RangeError(`"${v}" is not an IP address`);
    w.bytes(parsed);
  },
  decode: (b) => {
    if (b.length !== 4 && b.length !== 16) throw new NetlinkMalformedError(`IP address of ${b.length} bytes`);
    return formatIP(b);
  },
};

/** A link-layer address of any length, as lowercase colon-separated hex. */
export const hardwareAddress: Codec<string> = {
  encode: (w, v) => {
    if (!/^(?:[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2})*)?$/.test(v)) throw new RangeError(`"${v}" is not a link-layer address`);
    if (v !== "") w.bytes(Uint8Array.from(v.split(":"), (h) => parseInt(h, 16)));
  },
  decode: (b) => formatMac(b),
};
