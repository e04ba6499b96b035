// Addresses a user types (`--ip`, `--mac`, subnets such as slirp4netns' `cidr=`) and the subnet arithmetic
// done on them. Text <-> bytes is the netlink codec's, so what is accepted here is exactly what the netlink
// layer can encode; this module adds the user-facing errors and the rules of what a container may use.
import * as v from "valibot";
import { UsageError } from "../errors.ts";
import { type Cidr, formatCidr, formatIP, formatMac, parseCidr, parseIP, parseMac } from "../ip/codec.ts";

/** Why an address parsed fine but can never be a container interface's own address, or null if it can. */
function unassignableReason(ip: Uint8Array): string | null {
  if (ip.every((b) => b === 0)) return "the unspecified address cannot be assigned to a container";
  if (ip.length === 4) {
    if (ip[0] === 127) return "a loopback address cannot be assigned to a container";
    if (ip[0]! >= 224 && ip[0]! < 240) return "a multicast address cannot be assigned to a container";
    if (ip.every((b) => b === 255)) return "the broadcast address cannot be assigned to a container";
    return null;
  }
  if (ip.subarray(0, 15).every((b) => b === 0) && ip[15] === 1) return "a loopback address cannot be assigned to a container";
  if (ip[0] === 0xff) return "a multicast address cannot be assigned to a container";
  return null;
}

/** `--ip`: an IPv4 or IPv6 address a container interface can own. Returns the canonical text. */
export function validateIP(text: string): string {
  const ip = parseIP(text);
  // podman's words (specgen's --ip check)
  if (ip === null) throw new UsageError(`"${text}" is not an ip address`);
  const reason = unassignableReason(ip);
  if (reason !== null) throw new UsageError(`invalid IP address "${text}": ${reason}`);
  return formatIP(ip);
}

/** `--mac`: a unicast Ethernet address. Returns it lowercased. */
export function validateMAC(text: string): string {
  const mac = parseMac(text);
  if (mac === null) throw new UsageError(`invalid MAC address "${text}": expected six hex octets like 52:54:00:12:34:56`);
  // the kernel's words for both (EADDRNOTAVAIL), which podman shows, after ctrnet's reason
  if (mac[0]! & 1) throw new UsageError(`invalid MAC address "${text}": the multicast bit is set; a container needs a unicast address (Cannot assign requested address)`);
  if (mac.every((b) => b === 0)) throw new UsageError(`invalid MAC address "${text}": the all-zero address cannot be assigned (Cannot assign requested address)`);
  return formatMac(mac);
}

/**
 * A subnet in CIDR notation, e.g. `10.88.0.0/16`. Host bits must be clear, as CNI's host-local requires:
 * `10.88.0.1/16` is more likely a typo for an address than a way to say the network.
 */
export function parseSubnet(text: string, kind = "subnet"): Cidr {
  const cidr = parseCidr(text);
  if (cidr === null) throw new UsageError(`invalid ${kind} "${text}": expected an address and a prefix length like 10.88.0.0/16`);
  const network: Cidr = { address: mask(cidr.address, cidr.prefixLength), prefixLength: cidr.prefixLength };
  if (!sameBytes(network.address, cidr.address)) {
    throw new UsageError(`invalid ${kind} "${text}": host bits are set (the network is ${formatCidr(network)})`);
  }
  return network;
}

/**
 * A network's subnet as podman reads `--subnet`: host bits are cleared (`10.50.0.9/24` is 10.50.0.0/24),
 * then the subnet must be one a bridge can route for containers (see networkSubnetProblem).
 */
export function parseNetworkSubnet(text: string): Cidr {
  const cidr = parseCidr(text);
  // podman's words first (net.ParseCIDR's), then what would do
  if (cidr === null) throw new UsageError(`invalid subnet "${text}": invalid CIDR address: ${text} (expected an address and a prefix length like 10.89.0.0/24)`);
  const subnet: Cidr = { address: mask(cidr.address, cidr.prefixLength), prefixLength: cidr.prefixLength };
  const problem = networkSubnetProblem(subnet);
  if (problem !== null) throw new UsageError(`invalid subnet "${text}": ${problem}`);
  return subnet;
}

/** Ranges no container network may overlap: their addresses mean something else on every host. */
const SPECIAL_RANGES: readonly [string, string][] = [
  ["0.0.0.0/8", "the \"this network\" range 0.0.0.0/8"],
  ["127.0.0.0/8", "the loopback range 127.0.0.0/8"],
  ["169.254.0.0/16", "the link-local range 169.254.0.0/16"],
  ["224.0.0.0/4", "the multicast range 224.0.0.0/4"],
  ["240.0.0.0/4", "the reserved range 240.0.0.0/4 (255.255.255.255 is the broadcast address)"],
  ["::/127", "the unspecified and loopback addresses ::/127"],
  ["fe80::/10", "the link-local range fe80::/10"],
  ["ff00::/8", "the multicast range ff00::/8"],
];

/**
 * Why a subnet cannot be a container network's, or null. A network needs room for a gateway and at least
 * one container besides the network (and, for IPv4, broadcast) address: /30 and /126 at the smallest.
 */
export function networkSubnetProblem(subnet: Cidr): string | null {
  const bits = subnet.address.length * 8;
  if (subnet.prefixLength === 0) return "it covers every address";
  if (subnet.prefixLength > bits - 2) {
    return `a /${subnet.prefixLength} leaves no room for a gateway and a container (use /${bits - 2} or shorter)`;
  }
  for (const [text, what] of SPECIAL_RANGES) {
    if (subnetsOverlap(parseCidr(text)!, subnet)) return `it overlaps ${what}`;
  }
  return null;
}

/** Why a host-local IPAM could not hand `ip` out of `subnet` (its network or broadcast address), or null. */
export function reservedAddressProblem(subnet: Cidr, ip: Uint8Array): string | null {
  if (!subnetContains(subnet, ip)) return null;
  const [first, last] = usableOffsets(subnet);
  const offset = toBigInt(ip) - toBigInt(subnet.address);
  if (offset >= first && offset <= last) return null;
  return `is the ${offset < first ? "network" : "broadcast"} address of ${formatCidr(subnet)}`;
}

/** The address with every bit after the prefix cleared. */
export function maskAddress(ip: Uint8Array, prefixLength: number): Uint8Array {
  return mask(ip, prefixLength);
}

/** The subnet's network address plus n, whatever it is (network, host or broadcast address). */
export function nthAddress(subnet: Cidr, n: bigint): Uint8Array {
  return fromBigInt(toBigInt(subnet.address) + n, subnet.address.length);
}

function mask(ip: Uint8Array, prefixLength: number): Uint8Array {
  return ip.map((b, i) => {
    const bits = Math.min(8, Math.max(0, prefixLength - i * 8));
    return b & ((0xff00 >> bits) & 0xff);
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function toBigInt(ip: Uint8Array): bigint {
  return ip.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
}

function fromBigInt(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

function size(subnet: Cidr): bigint {
  return 1n << BigInt(subnet.address.length * 8 - subnet.prefixLength);
}

export function subnetContains(subnet: Cidr, ip: Uint8Array): boolean {
  return ip.length === subnet.address.length && sameBytes(mask(ip, subnet.prefixLength), subnet.address);
}

/** Two subnets overlap exactly when the shorter prefix contains the other's network. */
export function subnetsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.address.length !== b.address.length) return false;
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  return sameBytes(mask(a.address, shorter), mask(b.address, shorter));
}

/**
 * Offsets from the network address of the first and last usable host, as CNI's host-local counts them:
 * IPv4 loses the network and broadcast addresses, IPv6 only the network (subnet-router anycast) address;
 * point-to-point prefixes (/31, /127, RFC 3021 and 6164) and single addresses use every address.
 */
function usableOffsets(subnet: Cidr): [bigint, bigint] {
  const n = size(subnet);
  if (n <= 2n) return [0n, n - 1n];
  return [1n, subnet.address.length === 4 ? n - 2n : n - 1n];
}

export function firstHost(subnet: Cidr): Uint8Array {
  return nthHost(subnet, Number(usableOffsets(subnet)[0]));
}

export function lastHost(subnet: Cidr): Uint8Array {
  const [, last] = usableOffsets(subnet);
  return fromBigInt(toBigInt(subnet.address) + last, subnet.address.length);
}

/** The network address plus n: slirp4netns puts its DNS at +3 and the tap device at +100. */
export function nthHost(subnet: Cidr, n: number): Uint8Array {
  const [first, last] = usableOffsets(subnet);
  if (!Number.isSafeInteger(n) || BigInt(n) < first || BigInt(n) > last) {
    throw new UsageError(`subnet ${formatCidr(subnet)} has no host ${n < 0 ? n : `+${n}`} (usable hosts are +${first} to +${last})`);
  }
  return fromBigInt(toBigInt(subnet.address) + BigInt(n), subnet.address.length);
}

/** An address as stored: valid and already in canonical form, so stored text compares equal. */
export const IPAddress = v.pipe(
  v.string(),
  v.check((t) => {
    const ip = parseIP(t);
    return ip !== null && formatIP(ip) === t;
  }, "expected an IP address in canonical form"),
);

export const MACAddress = v.pipe(
  v.string(),
  v.check((t) => {
    const mac = parseMac(t);
    return mac !== null && formatMac(mac) === t;
  }, "expected a lowercase MAC address"),
);
