// Addresses as numbers, so ranges can be walked and compared: an IPv4 address is a 32-bit and an IPv6
// address a 128-bit bigint, tagged with its length in bytes. Text is the netlink codec's, so a lease
// file is named exactly as host-local names it (Go's net.IP.String: dotted quad, RFC 5952 for IPv6).
import { formatIP, parseIP } from "../../ip/codec.ts";

export interface Address {
  /** 4 for IPv4, 16 for IPv6. */
  readonly bytes: 4 | 16;
  readonly value: bigint;
}

/** An IPv4-mapped IPv6 address is the IPv4 address, as Go's To4 makes it before host-local compares. */
export function parseAddress(text: string): Address | null {
  const raw = parseIP(text);
  if (raw === null) return null;
  if (raw.length === 16 && raw.subarray(0, 10).every((b) => b === 0) && raw[10] === 0xff && raw[11] === 0xff) {
    return fromBytes(raw.subarray(12));
  }
  return fromBytes(raw);
}

export function fromBytes(raw: Uint8Array): Address {
  return { bytes: raw.length === 4 ? 4 : 16, value: raw.reduce((n, b) => (n << 8n) | BigInt(b), 0n) };
}

export function toBytes(address: Address): Uint8Array {
  const out = new Uint8Array(address.bytes);
  let n = address.value;
  for (let i = address.bytes - 1; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

export function formatAddress(address: Address): string {
  return formatIP(toBytes(address));
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.bytes === b.bytes && a.value === b.value;
}

/**
 * The address a lease file of this name is for, or null when `name` is not an address's canonical text.
 * Bytes rather than a number: a table of thousands of leases is scanned on every call.
 */
export function leaseBytes(name: string): Uint8Array | null {
  const raw = parseIP(name);
  return raw !== null && formatIP(raw) === name ? raw : null;
}

/** Address order within a family, IPv4 first: byte order is numeric order. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
