// Picking what a new network gets when the user names none: a subnet that overlaps no other network and
// nothing of the host, and a name (bridge or network) nobody uses. Pure: the caller says what is taken.
import { CtrnetError } from "../errors.ts";
import { type Cidr, formatCidr } from "../ip/codec.ts";
import { subnetsOverlap } from "../schema/ip.ts";

/**
 * podman's pool: 10.89.0.0/24 upwards. 10.88.0.0/16 is podman's default network, which podman 4 keeps in
 * memory and writes nowhere, so only leaving it out of the pool keeps the two tools apart.
 */
const IPV4_FIRST = { address: Uint8Array.of(10, 89, 0, 0), prefixLength: 24 };
/** 10.89.0.0 to 10.255.255.0: the rest of 10/8. */
const IPV4_COUNT = (256 - 89) * 256;
/** As podman: after this many random subnets that were all taken, give up. */
const IPV6_TRIES = 10_000;

/** The n-th /24 from 10.89.0.0. */
function nthSubnet(n: number): Cidr {
  const address = IPV4_FIRST.address.slice();
  const value = ((address[1]! << 16) | (address[2]! << 8)) + n * 256;
  address[1] = (value >> 16) & 0xff;
  address[2] = (value >> 8) & 0xff;
  return { address, prefixLength: IPV4_FIRST.prefixLength };
}

export function pickFreeSubnet(taken: readonly Cidr[]): Cidr {
  for (let n = 0; n < IPV4_COUNT; n++) {
    const candidate = nthSubnet(n);
    if (!taken.some((t) => subnetsOverlap(t, candidate))) return candidate;
  }
  throw new CtrnetError(`no free IPv4 subnet left from ${formatCidr(nthSubnet(0))} to ${formatCidr(nthSubnet(IPV4_COUNT - 1))}: give one with --subnet`);
}

/** RFC 4193: a unique local /64 is fd00::/8 with 56 random bits (global id and subnet id), not a sequence. */
export function pickRandomIPv6Subnet(taken: readonly Cidr[], randomBytes: (n: number) => Uint8Array): Cidr {
  for (let i = 0; i < IPV6_TRIES; i++) {
    const address = new Uint8Array(16);
    address.set(randomBytes(8).subarray(0, 8));
    address[0] = 0xfd;
    const candidate = { address, prefixLength: 64 };
    if (!taken.some((t) => subnetsOverlap(t, candidate))) return candidate;
  }
  throw new CtrnetError(`no free IPv6 subnet found in ${IPV6_TRIES} random tries in fd00::/8: give one with --subnet`);
}

/** The lowest `${prefix}N`, N >= 1 (0 is the default network's), that is not taken. */
export function pickFreeName(prefix: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) if (!taken.has(`${prefix}${n}`)) return `${prefix}${n}`;
}
