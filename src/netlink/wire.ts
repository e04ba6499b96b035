// The netlink byte layer: host-endian integers, 4-byte alignment, struct nlmsghdr, and a writer that
// builds attributes in place (length patched afterwards, padding zeroed and not counted in the length).
import { NetlinkMalformedError } from "./errors.ts";

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
/** In an NLMSG_ERROR: the request was not echoed back (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR or NLMSG_DONE: extended-ack attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

export function align4(n: number): number {
  return (n + 3) & ~3;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface NlHeader {
  type: number;
  flags: number;
  seq: number;
  pid: number;
}

/** One message inside a datagram; `payload` is a view into the datagram, valid until it is reused. */
export interface NlMessage extends NlHeader {
  payload: Uint8Array;
}

/** A growable buffer; netlink messages are small, so growth is rare. */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length = at + n;
    return at;
  }

  // Each writer reserves first: growing replaces this.view, so it must not be read before reserve() runs.
  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, HOST_LITTLE_ENDIAN);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, HOST_LITTLE_ENDIAN);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, HOST_LITTLE_ENDIAN);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, v, HOST_LITTLE_ENDIAN);
  }
  bytes(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }
  /** Zeroes up to the next 4-byte boundary. */
  pad(): void {
    const at = this.reserve(align4(this.length) - this.length);
    this.buf.fill(0, at, this.length);
  }

  /** An attribute whose length covers its header and content but not the padding after it. */
  attr(type: number, content: () => void): void {
    const start = this.reserve(NLA_HDRLEN);
    this.view.setUint16(start + 2, type, HOST_LITTLE_ENDIAN);
    content();
    const length = this.length - start;
    if (length > 0xffff) throw new RangeError(`netlink attribute ${type} is ${length} bytes, more than 65535`);
    this.view.setUint16(start, length, HOST_LITTLE_ENDIAN);
    this.pad();
  }

  /** A whole message: header, then the body; nlmsg_len is patched in at the end. */
  message(header: NlHeader, body: () => void): void {
    const start = this.reserve(NLMSG_HDRLEN);
    this.view.setUint16(start + 4, header.type, HOST_LITTLE_ENDIAN);
    this.view.setUint16(start + 6, header.flags, HOST_LITTLE_ENDIAN);
    this.view.setUint32(start + 8, header.seq, HOST_LITTLE_ENDIAN);
    this.view.setUint32(start + 12, header.pid, HOST_LITTLE_ENDIAN);
    body();
    this.pad();
    this.view.setUint32(start, this.length - start, HOST_LITTLE_ENDIAN);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export function encodeMessage(header: NlHeader, body: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  w.message(header, () => body(w));
  return w.finish();
}

export function decodeHeader(view: DataView, offset: number): NlHeader & { length: number } {
  return {
    length: view.getUint32(offset, HOST_LITTLE_ENDIAN),
    type: view.getUint16(offset + 4, HOST_LITTLE_ENDIAN),
    flags: view.getUint16(offset + 6, HOST_LITTLE_ENDIAN),
    seq: view.getUint32(offset + 8, HOST_LITTLE_ENDIAN),
    pid: view.getUint32(offset + 12, HOST_LITTLE_ENDIAN),
  };
}

/** Splits a datagram into its messages; a length that overruns the datagram is a malformed message. */
export function splitMessages(datagram: Uint8Array): NlMessage[] {
  const view = viewOf(datagram);
  const out: NlMessage[] = [];
  let offset = 0;
  while (offset + NLMSG_HDRLEN <= datagram.length) {
    const { length, ...header } = decodeHeader(view, offset);
    if (length < NLMSG_HDRLEN || offset + length > datagram.length) {
      throw new NetlinkMalformedError(`nlmsghdr at offset ${offset} has length ${length} in a ${datagram.length}-byte datagram`);
    }
    out.push({ ...header, payload: datagram.subarray(offset + NLMSG_HDRLEN, offset + length) });
    offset += align4(length);
  }
  return out;
}
