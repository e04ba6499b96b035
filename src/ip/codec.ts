// IP and MAC addresses between their text and their wire bytes. No imports, so schemas, drivers and
// the CLI can validate input with the same rules the netlink layer encodes with. Parsers return null on
// bad input and leave the choice of error to the caller.

export interface Cidr {
  /** 4 bytes for IPv4, 16 for IPv6. */
  address: Uint8Array;
  prefixLength: number;
}

// Up to three decimal digits without leading zeros: IPv4 octets and prefix lengths.
const SMALL_DECIMAL = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const MAC = /^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/;

/** Dotted quad, as inet_pton accepts it: four decimal octets, no leading zeros. */
export function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!SMALL_DECIMAL.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** RFC 4291 text: eight groups, at most one "::", optionally a dotted-quad tail. Zones are not addresses. */
export function parseIPv6(text: string): Uint8Array | null {
  let hexText = text;
  const lastColon = text.lastIndexOf(":");
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    const v4 = parseIPv4(last);
    if (v4 === null) return null;
    const high = ((v4[0]! << 8) | v4[1]!).toString(16);
    const low = ((v4[2]! << 8) | v4[3]!).toString(16);
    hexText = `${text.slice(0, lastColon + 1)}${high}:${low}`;
  }
  const halves = hexText.split("::");
  if (halves.length > 2) return null;
  const head = hexGroups(halves[0]!);
  const tail = halves.length === 2 ? hexGroups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 2 ? head.length + tail.length > 7 : head.length !== 8) return null;
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  head.forEach((w, i) => view.setUint16(i * 2, w));
  tail.forEach((w, i) => view.setUint16((8 - tail.length + i) * 2, w));
  return out;
}

function hexGroups(part: string): number[] | null {
  if (part === "") return [];
  const groups = part.split(":");
  if (!groups.every((g) => HEX_GROUP.test(g))) return null;
  return groups.map((g) => parseInt(g, 16));
}

export function parseIP(text: string): Uint8Array | null {
  return text.includes(":") ? parseIPv6(text) : parseIPv4(text);
}

/** 4 or 6 for an address in text form, 0 for anything else: node:net's isIP without loading node:net (~2.5 ms of start-up). */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (parseIPv4(text)) return 4;
  return parseIPv6(text) ? 6 : 0;
}

/** "10.0.0.1/24", "fd00::1/64". The prefix is required and must fit the family. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const address = parseIP(text.slice(0, slash));
  const prefix = text.slice(slash + 1);
  if (address === null || !SMALL_DECIMAL.test(prefix)) return null;
  const prefixLength = Number(prefix);
  if (prefixLength > address.length * 8) return null;
  return { address, prefixLength };
}

export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as "::" (the first on a tie). */
export function formatIPv6(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const words = Array.from({ length: 8 }, (_, i) => view.getUint16(i * 2));
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${formatIPv4(bytes.subarray(12, 16))}`;
  }
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

export function formatIP(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIPv4(bytes);
  if (bytes.length === 16) return formatIPv6(bytes);
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIP(cidr.address)}/${cidr.prefixLength}`;
}

/** Six colon-separated hex octets, either case. */
export function parseMac(text: string): Uint8Array | null {
  if (!MAC.test(text)) return null;
  return Uint8Array.from(text.split(":"), (h) => parseInt(h, 16));
}

/**
 * Lowercase, colon-separated, any length: link-layer addresses of non-Ethernet links (tunnels, loopback)
 * are not six bytes.
 */
export function formatMac(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(":");
}
