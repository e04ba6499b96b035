// Addresses as numbers, so ranges can be walked and compared: an IPv4 address is a 32-bit and an IPv6
// address a 128-bit bigint, tagged with its length in bytes. Text is the netlink codec's, so a lease
// file is named exactly as host-local names it (Go's net.IP.String: dotted quad, RFC 5952 for IPv6).
import { formatIP, parseIP } from "../../netlink/addr-codec.ts";

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

/** The text form a lease file of this address has, or null when `name` is not one. */
export function leaseAddress(name: string): Address | null {
  const address = parseAddress(name);
  return address !== null && formatAddress(address) === name ? address : null;
}
