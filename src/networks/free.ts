// Picking what a new network gets when the user names none: a subnet that overlaps no other network and
// no host route, and a name (bridge or network) nobody uses. Pure: the caller says what is taken.
import { CtrnetError } from "../errors.ts";
import { type Cidr, formatCidr } from "../ip/codec.ts";
import { subnetsOverlap } from "../schema/ip.ts";

/** podman's ranges: 10.89.0.0/24 upwards (10.88.0.0/16 is the default network's), and fd00::/64 upwards. */
const IPV4_FIRST = { address: Uint8Array.of(10, 89, 0, 0), prefixLength: 24 };
const IPV6_FIRST = { address: Uint8Array.of(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), prefixLength: 64 };
/** 10.89.0.0 to 10.255.255.0: the rest of 10/8. */
const IPV4_COUNT = (256 - 89) * 256;
/** fd00:0:0:0::/64 to fd00:0:0:ffff::/64. */
const IPV6_COUNT = 65536;

/** The n-th subnet after `first`, counting in steps of its own size; n fits in the two bytes above the prefix. */
function nthSubnet(first: Cidr, n: number): Cidr {
  const address = first.address.slice();
  const last = first.prefixLength / 8 - 1;
  const value = ((address[last - 1]! << 8) | address[last]!) + n;
  address[last - 1] = value >> 8;
  address[last] = value & 0xff;
  return { address, prefixLength: first.prefixLength };
}

export function pickFreeSubnet(family: 4 | 6, taken: readonly Cidr[]): Cidr {
  const [first, count] = family === 4 ? [IPV4_FIRST, IPV4_COUNT] : [IPV6_FIRST, IPV6_COUNT];
  for (let n = 0; n < count; n++) {
    const candidate = nthSubnet(first, n);
    if (!taken.some((t) => subnetsOverlap(t, candidate))) return candidate;
  }
  const last = nthSubnet(first, count - 1);
  throw new CtrnetError(`no free IPv${family} subnet left from ${formatCidr(first)} to ${formatCidr(last)}: give one with --subnet`);
}

/** The lowest `${prefix}N` with N >= start that is not taken. */
export function pickFreeName(prefix: string, taken: ReadonlySet<string>, start = 1): string {
  for (let n = start; ; n++) if (!taken.has(`${prefix}${n}`)) return `${prefix}${n}`;
}
