// A message body: a fixed C struct (ifinfomsg, ifaddrmsg, rtmsg) followed by attributes.
import { decodeAttrs, encodeAttrs, type Attr, type AttrSpec, type AttrTable, type Codec } from "./attrs.ts";
import { NetlinkMalformedError } from "./errors.ts";
import { align4, viewOf, type Writer } from "./wire.ts";

export interface StructCodec<T> {
  readonly name: string;
  readonly size: number;
  encode(w: Writer, value: T): void;
  decode(view: DataView): T;
}

export interface Body<H, S extends AttrSpec> {
  header: H;
  attrs: Attr<S>[];
}

export function bodyCodec<H, S extends AttrSpec>(struct: StructCodec<H>, table: AttrTable<S>): Codec<Body<H, S>> {
  return {
    encode(w, body) {
      struct.encode(w, body.header);
      w.pad();
      encodeAttrs(w, table, body.attrs);
    },
    decode(bytes) {
      if (bytes.length < struct.size) throw new NetlinkMalformedError(`${struct.name} needs ${struct.size} bytes, got ${bytes.length}`);
      return { header: struct.decode(viewOf(bytes)), attrs: decodeAttrs(table, bytes.subarray(align4(struct.size))) };
    },
  };
}
