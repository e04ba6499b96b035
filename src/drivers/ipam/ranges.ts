// host-local's ranges and range sets (backend/allocator/range.go, range_set.go, config.go), checked and
// defaulted the way host-local does it, so both hand out the same addresses from the same configuration:
// the gateway defaults to the subnet's first address, the range to everything after the network address
// up to (IPv4) the address before the broadcast or (IPv6) the subnet's last address; /31, /32, /127 and
// /128 hold nothing to allocate. Where host-local would loop over addresses outside the subnet (a
// rangeStart after its rangeEnd), ctrnet refuses the configuration instead.
import { UsageError } from "../../errors.ts";
import { parseCidr } from "../../ip/codec.ts";
import type { HostLocalRange, HostLocalRangeSet } from "../../schema/host-local.ts";
import { type Address, formatAddress, fromBytes, parseAddress } from "./address.ts";

export interface Range {
  readonly bytes: 4 | 16;
  /** The subnet as written, e.g. "10.88.0.0/16". */
  readonly subnet: string;
  readonly prefixLength: number;
  readonly network: bigint;
  /** The subnet's last address. */
  readonly last: bigint;
  /** First and last address handed out, both inclusive. */
  readonly start: bigint;
  readonly end: bigint;
  /** Never handed out; reported with every address of the range. */
  readonly gateway: Address;
}

export type RangeSet = readonly Range[];

/** A fault of one range, reported with the index of its set. */
class RangeSpecError extends UsageError {}

function address(what: string, text: string): Address {
  const parsed = parseAddress(text);
  if (parsed === null) throw new RangeSpecError(`invalid ${what} "${text}": expected an IP address`);
  return parsed;
}

function inSubnet(r: Pick<Range, "bytes" | "network" | "last">, a: Address): boolean {
  return a.bytes === r.bytes && a.value >= r.network && a.value <= r.last;
}

/** Go's net.IP unmarshals "" to no address, so an empty string means "use the default" there too. */
function given(text: string | null | undefined): text is string {
  return typeof text === "string" && text !== "";
}

function compileRange(spec: HostLocalRange): Range {
  const cidr = parseCidr(spec.subnet);
  if (cidr === null) throw new RangeSpecError(`invalid subnet "${spec.subnet}": expected an address and a prefix length like 10.88.0.0/16`);
  const subnetAddress = fromBytes(cidr.address);
  const bits = subnetAddress.bytes * 8;
  if (parseAddress(spec.subnet.slice(0, spec.subnet.indexOf("/")))!.bytes !== subnetAddress.bytes) {
    throw new RangeSpecError(`subnet ${spec.subnet} is an IPv4-mapped IPv6 subnet: write it as an IPv4 subnet`);
  }
  if (cidr.prefixLength > bits - 2) throw new RangeSpecError(`network ${spec.subnet} too small to allocate from`);
  const size = 1n << BigInt(bits - cidr.prefixLength);
  const network = subnetAddress.value & ~(size - 1n);
  const bytes = subnetAddress.bytes;
  if (network !== subnetAddress.value) {
    const fixed = formatAddress({ bytes, value: network });
    throw new RangeSpecError(`subnet ${spec.subnet} has host bits set: the network address is ${fixed}/${cidr.prefixLength}`);
  }
  const subnet = { bytes, network, last: network + size - 1n };
  const inside = (what: string, text: string): bigint => {
    const a = address(what, text);
    if (!inSubnet(subnet, a)) throw new RangeSpecError(`${what} ${text} not in network ${spec.subnet}`);
    return a.value;
  };
  const gateway = given(spec.gateway) ? address("gateway", spec.gateway) : { bytes, value: network + 1n };
  const start = given(spec.rangeStart) ? inside("rangeStart", spec.rangeStart) : network + 1n;
  const end = given(spec.rangeEnd) ? inside("rangeEnd", spec.rangeEnd) : bytes === 4 ? subnet.last - 1n : subnet.last;
  if (start > end) throw new RangeSpecError(`rangeStart ${formatAddress({ bytes, value: start })} is after rangeEnd ${formatAddress({ bytes, value: end })}`);
  return { ...subnet, subnet: spec.subnet, prefixLength: cidr.prefixLength, start, end, gateway };
}

export function rangeContains(r: Range, a: Address): boolean {
  return a.bytes === r.bytes && a.value >= r.start && a.value <= r.end;
}

/** The range of the set that hands out `a`, if any. */
export function rangeFor(set: RangeSet, a: Address): number {
  return set.findIndex((r) => rangeContains(r, a));
}

function overlaps(a: Range, b: Range): boolean {
  const at = (r: Range, value: bigint) => rangeContains(r, { bytes: r.bytes, value });
  return a.bytes === b.bytes && (at(a, b.start) || at(a, b.end) || at(b, a.start) || at(b, a.end));
}

export function describeRange(r: Range): string {
  return `${formatAddress({ bytes: r.bytes, value: r.start })}-${formatAddress({ bytes: r.bytes, value: r.end })}`;
}

export function describeRangeSet(set: RangeSet): string {
  return set.map(describeRange).join(",");
}

function compileRangeSet(specs: HostLocalRangeSet): RangeSet {
  if (specs.length === 0) throw new RangeSpecError("empty range set");
  const set = specs.map(compileRange);
  if (set.some((r) => r.bytes !== set[0]!.bytes)) throw new RangeSpecError("mixed address families");
  for (const [i, a] of set.entries()) {
    for (const b of set.slice(i + 1)) {
      if (overlaps(a, b)) throw new RangeSpecError(`subnets ${describeRange(a)} and ${describeRange(b)} overlap`);
    }
  }
  return set;
}

/** Every range set checked on its own, then against each other; errors say which set, as host-local's do. */
export function compileRangeSets(specs: readonly HostLocalRangeSet[]): RangeSet[] {
  if (specs.length === 0) throw new UsageError("no IP ranges specified");
  const sets = specs.map((spec, i) => {
    try {
      return compileRangeSet(spec);
    } catch (err) {
      if (err instanceof RangeSpecError) throw new UsageError(`invalid range set ${i}: ${err.message}`);
      throw err;
    }
  });
  for (const [i, a] of sets.entries()) {
    for (const [j, b] of sets.entries()) {
      if (j > i && a.some((ra) => b.some((rb) => overlaps(ra, rb)))) throw new UsageError(`range set ${i} overlaps with ${j}`);
    }
  }
  return sets;
}

export interface Candidate {
  /** Index of the range in its set. */
  range: number;
  address: Address;
}

/**
 * host-local's RangeIter: starts after the set's last reserved address (round robin) when a range of the
 * set still contains it, else at the first range's start; walks each range to its end, then the next
 * range's start, wrapping around; skips gateways; ends when it comes back to where it started.
 */
export function* candidates(set: RangeSet, lastReserved: Address | undefined): Generator<Candidate> {
  const resume = lastReserved === undefined ? -1 : rangeFor(set, lastReserved);
  let index = resume < 0 ? 0 : resume;
  let current = resume < 0 ? undefined : lastReserved!.value;
  let first: bigint | undefined = resume < 0 ? set[0]!.start : undefined;
  for (;;) {
    let r = set[index]!;
    if (current === undefined) {
      current = r.start;
      first = current;
    } else {
      if (current === r.end) {
        index = (index + 1) % set.length;
        r = set[index]!;
        current = r.start;
      } else {
        current += 1n;
      }
      if (first === undefined) first = current;
      else if (current === first) return;
    }
    const candidate = { bytes: r.bytes, value: current };
    if (r.gateway.bytes === r.bytes && r.gateway.value === current) continue;
    yield { range: index, address: candidate };
  }
}
