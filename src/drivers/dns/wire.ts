// The DNS wire format (RFC 1035, 3596, 6891): header, questions, resource records, EDNS0's OPT record, and name
// compression both ways. Decoding checks every length against the packet and throws DnsFormatError, so a
// malformed packet costs the server one FORMERR answer, never a crash. Record data ctrnet does not interpret
// (TXT, MX, ...) travels as opaque bytes, so forwarding and re-encoding never changes it.
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../../ip/codec.ts";

export const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, OPT: 41, ANY: 255 } as const;
export const CLASS_IN = 1;
export const OPCODE_QUERY = 0;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const HEADER_SIZE = 12;
/** RFC 1035's limit for a UDP answer to a client that sent no OPT record. */
export const CLASSIC_UDP_SIZE = 512;

export class DnsFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DnsFormatError";
  }
}

export interface Header {
  id: number;
  /** true in a response */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  /** The low 4 bits; EDNS0 carries the upper 8 (`Edns.extendedRcode`). */
  rcode: number;
}

export interface Question {
  /** Presentation form without the final dot ("" is the root): labels joined by ".", with `\.` and `\DDD` escapes. */
  name: string;
  type: number;
  class: number;
}

export type RData =
  | { kind: "A"; address: string }
  | { kind: "AAAA"; address: string }
  | { kind: "name"; name: string }
  | { kind: "SOA"; mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number }
  | { kind: "opaque"; bytes: Uint8Array };

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RData;
}

/** EDNS0 (RFC 6891): the OPT pseudo-record, lifted out of the additional section. */
export interface Edns {
  udpSize: number;
  extendedRcode: number;
  version: number;
  dnssecOk: boolean;
  /** The option list as it is on the wire (code, length, value ...). */
  options: Uint8Array;
}

export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  /** Without the OPT record, which is `edns`. */
  additionals: ResourceRecord[];
  edns?: Edns;
}

const NAME_TYPES = new Set<number>([TYPE.NS, TYPE.CNAME, TYPE.PTR]);
const MAX_NAME = 255;
const MAX_LABEL = 63;

// ---- decoding ----

class Reader {
  readonly view: DataView;
  pos = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.length) throw new DnsFormatError(`${what} runs past the end of the packet (${this.bytes.length} bytes)`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

function labelText(bytes: Uint8Array, start: number, length: number): string {
  let out = "";
  for (let i = start; i < start + length; i++) {
    const c = bytes[i]!;
    if (c === 0x2e || c === 0x5c) out += `\\${String.fromCharCode(c)}`;
    else if (c <= 0x20 || c >= 0x7f) out += `\\${String(c).padStart(3, "0")}`;
    else out += String.fromCharCode(c);
  }
  return out;
}

/**
 * A name at r.pos, following compression pointers. A pointer must point before the place it was read from, so
 * a loop cannot be built; the expanded name must stay within 255 octets.
 */
function readName(r: Reader): string {
  const bytes = r.bytes;
  let pos = r.pos;
  let jumped = false;
  let wireLength = 1;
  const labels: string[] = [];
  for (;;) {
    if (pos >= bytes.length) throw new DnsFormatError("a name runs past the end of the packet");
    const len = bytes[pos]!;
    if (len === 0) {
      if (!jumped) r.pos = pos + 1;
      return labels.join(".");
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= bytes.length) throw new DnsFormatError("a compression pointer runs past the end of the packet");
      const target = ((len & 0x3f) << 8) | bytes[pos + 1]!;
      if (target >= pos) throw new DnsFormatError(`a compression pointer at offset ${pos} does not point backwards`);
      if (!jumped) r.pos = pos + 2;
      jumped = true;
      pos = target;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError(`unsupported label type 0x${kind.toString(16)} at offset ${pos}`);
    if (pos + 1 + len > bytes.length) throw new DnsFormatError("a label runs past the end of the packet");
    wireLength += len + 1;
    if (wireLength > MAX_NAME) throw new DnsFormatError("a name is longer than 255 octets");
    labels.push(labelText(bytes, pos + 1, len));
    pos += 1 + len;
  }
}

function readHeader(r: Reader): Header {
  const id = r.u16("the header");
  const flags = r.u16("the header");
  return {
    id,
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
  };
}

function readRData(r: Reader, type: number, length: number): RData {
  const end = r.pos + length;
  const exact = (data: RData): RData => {
    if (r.pos !== end) throw new DnsFormatError(`record data of type ${type} has ${length} octets, its content ${length - (end - r.pos)}`);
    return data;
  };
  switch (type) {
    case TYPE.A:
      if (length !== 4) throw new DnsFormatError(`an A record has ${length} octets of data, not 4`);
      return { kind: "A", address: formatIPv4(r.take(4, "an A record")) };
    case TYPE.AAAA:
      if (length !== 16) throw new DnsFormatError(`an AAAA record has ${length} octets of data, not 16`);
      return { kind: "AAAA", address: formatIPv6(r.take(16, "an AAAA record")) };
    case TYPE.NS:
    case TYPE.CNAME:
    case TYPE.PTR:
      return exact({ kind: "name", name: readName(r) });
    case TYPE.SOA: {
      const mname = readName(r);
      const rname = readName(r);
      const soa = { kind: "SOA" as const, mname, rname, serial: r.u32("an SOA record"), refresh: r.u32("an SOA record") };
      return exact({ ...soa, retry: r.u32("an SOA record"), expire: r.u32("an SOA record"), minimum: r.u32("an SOA record") });
    }
    default:
      return { kind: "opaque", bytes: r.take(length, "record data").slice() };
  }
}

function readRecord(r: Reader): ResourceRecord | Edns {
  const name = readName(r);
  const type = r.u16("a record");
  const klass = r.u16("a record");
  const ttl = r.u32("a record");
  const length = r.u16("a record");
  r.need(length, "record data");
  if (type === TYPE.OPT) {
    if (name !== "") throw new DnsFormatError("an OPT record's owner is not the root");
    return {
      udpSize: klass,
      extendedRcode: ttl >>> 24,
      version: (ttl >>> 16) & 0xff,
      dnssecOk: (ttl & 0x8000) !== 0,
      options: r.take(length, "OPT options").slice(),
    };
  }
  return { name, type, class: klass, ttl, data: readRData(r, type, length) };
}

const isEdns = (x: ResourceRecord | Edns): x is Edns => "udpSize" in x;

function readRecords(r: Reader, count: number, section: string): ResourceRecord[] {
  const out: ResourceRecord[] = [];
  for (let i = 0; i < count; i++) {
    const rr = readRecord(r);
    if (isEdns(rr)) throw new DnsFormatError(`an OPT record in the ${section} section`);
    out.push(rr);
  }
  return out;
}

/** Only the header: what a FORMERR answer needs when the rest does not decode. Null if under 12 octets. */
export function decodeHeader(bytes: Uint8Array): Header | null {
  return bytes.length < HEADER_SIZE ? null : readHeader(new Reader(bytes));
}

export function decodeMessage(bytes: Uint8Array): Message {
  const r = new Reader(bytes);
  const header = readHeader(r);
  const qd = r.u16("the header");
  const an = r.u16("the header");
  const ns = r.u16("the header");
  const ar = r.u16("the header");
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) questions.push({ name: readName(r), type: r.u16("a question"), class: r.u16("a question") });
  const answers = readRecords(r, an, "answer");
  const authorities = readRecords(r, ns, "authority");
  const additionals: ResourceRecord[] = [];
  let edns: Edns | undefined;
  for (let i = 0; i < ar; i++) {
    const rr = readRecord(r);
    if (!isEdns(rr)) additionals.push(rr);
    else if (edns) throw new DnsFormatError("more than one OPT record");
    else edns = rr;
  }
  if (r.pos !== bytes.length) throw new DnsFormatError(`${bytes.length - r.pos} octets after the last record`);
  return { header, questions, answers, authorities, additionals, ...(edns ? { edns } : {}) };
}

// ---- encoding ----

const MAX_MESSAGE = 65535;

class Writer {
  readonly bytes = new Uint8Array(MAX_MESSAGE);
  readonly view = new DataView(this.bytes.buffer);
  pos = 0;
  /** Lowercased suffix (labels joined by "\0", so escapes cannot collide) -> its offset. */
  readonly names = new Map<string, number>();

  reset(): void {
    this.pos = 0;
    this.names.clear();
  }
  room(n: number): void {
    if (this.pos + n > MAX_MESSAGE) throw new DnsFormatError("the message is longer than 65535 octets");
  }
  u8(v: number): void {
    this.room(1);
    this.bytes[this.pos++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.view.setUint16(this.pos, v);
    this.pos += 2;
  }
  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.pos, v >>> 0);
    this.pos += 4;
  }
  put(b: Uint8Array): void {
    this.room(b.length);
    this.bytes.set(b, this.pos);
    this.pos += b.length;
  }
  /**
   * Writes a name in presentation form (`\.`, `\\` and `\DDD` escapes), pointing at an earlier copy of the
   * longest suffix already written when `compress`. Suffixes are matched by their lowercased text, so a name
   * spelled with different escapes is only written out in full, never wrongly shared.
   */
  name(name: string, compress: boolean): void {
    const text = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
    // Escapes only shrink a name, so a short text needs no exact count.
    if (text.length + 2 > MAX_NAME && wireLength(text) > MAX_NAME) throw new DnsFormatError(`name "${name}" is longer than 255 octets`);
    const lower = text.toLowerCase();
    let i = 0;
    while (i < text.length) {
      const key = lower.slice(i);
      if (compress) {
        const seen = this.names.get(key);
        if (seen !== undefined) {
          this.u16(0xc000 | seen);
          return;
        }
      }
      if (this.pos < 0x4000) this.names.set(key, this.pos);
      const lengthAt = this.pos;
      this.u8(0);
      for (; i < text.length; i++) {
        let c = text.charCodeAt(i);
        if (c === 0x2e) break;
        if (c === 0x5c) {
          const digits = text.slice(i + 1, i + 4);
          if (/^\d{3}$/.test(digits) && Number(digits) <= 255) {
            c = Number(digits);
            i += 3;
          } else if (i + 1 < text.length) c = text.charCodeAt(++i);
          else throw new DnsFormatError(`name "${name}" ends in a lone backslash`);
        } else if (c > 0xff) throw new DnsFormatError(`name "${name}" has a character outside Latin-1`);
        this.u8(c);
      }
      const length = this.pos - lengthAt - 1;
      if (length === 0) throw new DnsFormatError(`name "${name}" has an empty label`);
      if (length > MAX_LABEL) throw new DnsFormatError(`name "${name}" has a label longer than 63 octets`);
      this.bytes[lengthAt] = length;
      i++;
      if (i === text.length) throw new DnsFormatError(`name "${name}" has an empty label`);
    }
    this.u8(0);
  }
}

/** Octets of a non-empty name in presentation form on the wire: content, one length octet per label, the root. */
function wireLength(text: string): number {
  let octets = 2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i += /^\d{3}$/.test(text.slice(i + 1, i + 4)) ? 3 : 1;
    octets += 1;
  }
  return octets;
}

function writeRData(w: Writer, rr: ResourceRecord): void {
  const lengthAt = w.pos;
  w.u16(0);
  const start = w.pos;
  const d = rr.data;
  switch (d.kind) {
    case "A":
    case "AAAA": {
      const ip = d.kind === "A" ? parseIPv4(d.address) : parseIPv6(d.address);
      if (ip === null) throw new DnsFormatError(`"${d.address}" is not an IPv${d.kind === "A" ? 4 : 6} address`);
      w.put(ip);
      break;
    }
    case "name":
      // RFC 3597: compression inside rdata only for the types of RFC 1035.
      w.name(d.name, NAME_TYPES.has(rr.type));
      break;
    case "SOA":
      w.name(d.mname, true);
      w.name(d.rname, true);
      for (const n of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(n);
      break;
    case "opaque":
      w.put(d.bytes);
      break;
  }
  w.view.setUint16(lengthAt, w.pos - start);
}

function writeRecord(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name, true);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  writeRData(w, rr);
}

function flagsOf(h: Header): number {
  return (
    (h.qr ? 0x8000 : 0) |
    ((h.opcode & 0xf) << 11) |
    (h.aa ? 0x0400 : 0) |
    (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) |
    (h.ra ? 0x0080 : 0) |
    (h.ad ? 0x0020 : 0) |
    (h.cd ? 0x0010 : 0) |
    (h.rcode & 0xf)
  );
}

/** One buffer for every message: encoding is synchronous, and a fresh 64 KiB per answer costs more than the answer. */
const writer = new Writer();

export function encodeMessage(m: Message): Uint8Array {
  const w = writer;
  w.reset();
  w.u16(m.header.id);
  w.u16(flagsOf(m.header));
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(m.authorities.length);
  w.u16(m.additionals.length + (m.edns ? 1 : 0));
  for (const q of m.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rr of m.answers) writeRecord(w, rr);
  for (const rr of m.authorities) writeRecord(w, rr);
  for (const rr of m.additionals) writeRecord(w, rr);
  if (m.edns) {
    const e = m.edns;
    w.u8(0);
    w.u16(TYPE.OPT);
    w.u16(e.udpSize);
    w.u32(((e.extendedRcode & 0xff) << 24) | ((e.version & 0xff) << 16) | (e.dnssecOk ? 0x8000 : 0));
    w.u16(e.options.length);
    w.put(e.options);
  }
  return w.bytes.slice(0, w.pos);
}
