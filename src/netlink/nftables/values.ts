// nftables data types (as nft names and numbers them, so `nft list` prints what ctrnet wrote) and the bytes
// of their values: what set keys, map data and cmp operands hold. Register contents are in network byte
// order except marks, which the kernel keeps in host order.
import { parseIPv4, parseIPv6 } from "../../ip/codec.ts";
import { HOST_LITTLE_ENDIAN, viewOf } from "../wire.ts";

export interface DataType {
  /** nft's name, e.g. "ipv4_addr", or "ipv4_addr . inet_service" for a concatenation. */
  name: string;
  /** nft's type number; a concatenation folds its members' numbers 6 bits at a time. */
  id: number;
  /** Bytes in a register: each member of a concatenation takes a multiple of 4. */
  len: number;
  /** For a concatenation, each member's own length (NFTA_SET_DESC_CONCAT). */
  fields?: number[];
  /**
   * How nft should read a value of this type when it lists a set: marks and interface names are in host
   * order. Not the kernel's business (it compares bytes); a concatenation's members carry their own.
   */
  byteorder?: "host" | "big";
}

export const TYPES = {
  ipv4_addr: { name: "ipv4_addr", id: 7, len: 4, byteorder: "big" },
  ipv6_addr: { name: "ipv6_addr", id: 8, len: 16, byteorder: "big" },
  ether_addr: { name: "ether_addr", id: 9, len: 6, byteorder: "big" },
  inet_proto: { name: "inet_proto", id: 12, len: 1, byteorder: "big" },
  inet_service: { name: "inet_service", id: 13, len: 2, byteorder: "big" },
  mark: { name: "mark", id: 19, len: 4, byteorder: "host" },
  ifname: { name: "ifname", id: 41, len: 16, byteorder: "host" },
} as const satisfies Record<string, DataType>;

/** NFT_DATA_VERDICT: the data type of a verdict map. */
export const VERDICT_TYPE = 0xffffff00;

const TYPE_BITS = 6;

function pad4(n: number): number {
  return (n + 3) & ~3;
}

export function concatType(...members: DataType[]): DataType {
  if (members.length < 2) throw new RangeError("a concatenation needs at least two types");
  return {
    name: members.map((m) => m.name).join(" . "),
    id: members.reduce((id, m) => (id << TYPE_BITS) | m.id, 0),
    len: members.reduce((n, m) => n + pad4(m.len), 0),
    fields: members.map((m) => m.len),
  };
}

/** A concatenation's value: each member padded with zeros to 4 bytes, as registers hold them. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + pad4(p.length), 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += pad4(p.length);
  }
  return out;
}

export function ipv4(text: string): Uint8Array {
  const b = parseIPv4(text);
  if (b === null) throw new RangeError(`"${text}" is not an IPv4 address`);
  return b;
}

export function ipv6(text: string): Uint8Array {
  const b = parseIPv6(text);
  if (b === null) throw new RangeError(`"${text}" is not an IPv6 address`);
  return b;
}

function checked(n: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new RangeError(`${what} ${n} is out of range`);
  return n;
}

/** A port: two bytes, network order. */
export function inetService(port: number): Uint8Array {
  checked(port, 0xffff, "port");
  return Uint8Array.of(port >>> 8, port & 0xff);
}

export const IPPROTO = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 } as const;

/** An IP protocol number (`meta l4proto`): one byte. */
export function inetProto(proto: number | keyof typeof IPPROTO): Uint8Array {
  return Uint8Array.of(typeof proto === "number" ? checked(proto, 0xff, "protocol") : IPPROTO[proto]);
}

/** A 32-bit value in host order: `meta mark`, `ct mark`, `ct state` bits, `fib ... type`. */
export function hostU32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  viewOf(b).setUint32(0, checked(n, 0xffffffff, "value"), HOST_LITTLE_ENDIAN);
  return b;
}

/** An interface name as `meta iifname` loads it: 16 bytes, zero-padded. */
export function ifname(name: string): Uint8Array {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length === 0 || bytes.length > 15) throw new RangeError(`interface name "${name}" must be 1 to 15 bytes`);
  const out = new Uint8Array(16);
  out.set(bytes);
  return out;
}

/** The value just past `bytes` as one big-endian number; null when it is all ones (no successor). */
export function successor(bytes: Uint8Array): Uint8Array | null {
  const out = bytes.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]!++;
      return out;
    }
    out[i] = 0;
  }
  return null;
}
