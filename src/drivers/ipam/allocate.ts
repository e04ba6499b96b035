// Handing out addresses as host-local's ADD does (main.go cmdAdd, allocator.go Get): one address from
// every range set; a requested address goes to the set whose ranges contain it and must be free and not
// the gateway (several requested in one set are all given, as netavark's static IPs); otherwise the set's walk from its last reserved address finds the first free one. A
// container interface that already holds an address of a set is refused, not given it again, as host-local
// refuses a repeated ADD. One lock covers every set (host-local takes it per set). When a later set
// fails, the leases this call made are removed, and only those (host-local removes every lease of the
// interface); last_reserved_ip files keep the addresses written so far, as host-local's do, so the next
// address either of them hands out is the same.
//
// Each allocation also says whether its address is new to the network (fresh): above the highest address
// the range set may ever have handed out (highestHandedOut below). No neighbour can hold an entry for a
// new address naming another interface's MAC, so its interface needs no gratuitous ARP, whose broadcast
// the bridge floods into every container on the network (bridge/plumbing.ts). An address handed out
// before (a wrapped walk, a released static address, a restart) is never fresh. What the record can miss:
// an address host-local handed out and released above the record while a lower reservation of its own
// overwrote last_reserved_ip before ctrnet read it.
import { CtrnetError, UsageError } from "../../errors.ts";
import { type Address, formatAddress, fromBytes, parseAddress } from "./address.ts";
import { candidates, describeRangeSet, rangeFor, type RangeSet } from "./ranges.ts";
import { goTrimSpace, ownerKey, type Table } from "./table.ts";

export interface Allocation {
  /** The address with its subnet's prefix length, e.g. "10.88.0.2/16". */
  address: string;
  /** The address alone. */
  ip: string;
  prefixLength: number;
  /** The range's gateway (its subnet's first address unless configured). */
  gateway: string;
  /** Index of the range set it came from: the N of last_reserved_ip.N. */
  rangeSet: number;
  /** No interface has held the address on this network before (see above). */
  fresh: boolean;
}

/** A requested address: `10.88.0.5`, or with a prefix length (`10.88.0.5/16`, as the `ips` capability has it), which is ignored. */
export function parseRequested(text: string): Address {
  const slash = text.indexOf("/");
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) throw new UsageError(`invalid requested IP address "${text}"`);
  return address;
}

interface Pick {
  address: Address;
  range: number;
}

function pickRequested(network: string, table: Table, set: RangeSet, requested: Address, key: string): Pick {
  const range = rangeFor(set, requested)!;
  const r = set[range]!;
  const text = formatAddress(requested);
  if (r.gateway.bytes === requested.bytes && r.gateway.value === requested.value) {
    throw new UsageError(`network ${network}: requested IP address ${text} is the gateway of subnet ${r.subnet}`);
  }
  if (!table.reserve(requested, key)) throw new UsageError(`network ${network}: requested ip address ${text} is already allocated`);
  return { address: requested, range };
}

function pickFree(network: string, table: Table, set: RangeSet, index: number, last: Address | undefined, containerId: string, key: string, unheld: boolean): Pick {
  const trimmed = goTrimSpace(containerId);
  // host-local's GetByID reads every lease file: the one cost of an attach that grows with the network
  const held = unheld ? undefined : table.leases().find((l) => (l.owner === key || l.owner === trimmed) && rangeFor(set, fromBytes(l.bytes)) >= 0);
  if (held !== undefined) {
    throw new CtrnetError(`network ${network}: ${held.name} has been allocated to ${containerId}, duplicate allocation is not allowed`);
  }
  for (const candidate of candidates(set, last)) {
    if (table.reserve(candidate.address, key)) return candidate;
  }
  throw new CtrnetError(`network ${network}: no IP addresses available in range set ${index} (${describeRangeSet(set)})`);
}

export interface AllocateInput {
  network: string;
  sets: readonly RangeSet[];
  containerId: string;
  ifName: string;
  requested: readonly Address[];
  /**
   * The caller knows of no lease of the interface, so the refusal of a repeated allocation can skip
   * reading every lease file, unless the interface's owner mark says it holds one (see AllocateRequest).
   */
  unheld?: boolean;
  /** Keep the interface's owner mark (table.ts): written before its first lease. */
  ownerMarks?: boolean;
}

/**
 * The highest address a range set may ever have handed out: ctrnet's record raised to last_reserved_ip,
 * which every reservation writes, host-local's as well as ctrnet's. null: none ever was (neither file).
 * "unknown": the table has a history from before the record (last_reserved_ip alone), so any address may
 * have been handed out, and none is fresh.
 */
function highestHandedOut(recorded: Address | undefined, last: Address | undefined): Address | null | "unknown" {
  if (recorded === undefined) return last === undefined ? null : "unknown";
  return last !== undefined && last.bytes === recorded.bytes && last.value > recorded.value ? last : recorded;
}

function isFresh(address: Address, highest: Address | null | "unknown"): boolean {
  if (highest === null) return true;
  return highest !== "unknown" && address.bytes === highest.bytes && address.value > highest.value;
}

/** Runs under the table's lock. */
export function allocateLocked(table: Table, input: AllocateInput): Allocation[] {
  const { network, sets, containerId, ifName } = input;
  const key = ownerKey(containerId, ifName);
  const pending = [...input.requested];
  const made: (Pick & { set: number; fresh: boolean })[] = [];
  const marked = input.ownerMarks === true && table.hasOwnerMark(key);
  // a lease of this interface may exist only where its mark does: a crash after allocating, a state dir lost
  const unheld = input.unheld === true && input.ownerMarks === true && !marked;
  if (input.ownerMarks && !marked) table.markOwner(key);
  try {
    for (const [index, set] of sets.entries()) {
      // every requested address of the set, in the order given (netavark's several static IPs on one
      // subnet), else one free address
      const wanted = pending.filter((a) => rangeFor(set, a) >= 0);
      const last = table.lastReserved(index);
      const recorded = table.recordedHighest(index);
      let highest = highestHandedOut(recorded, last);
      const picks = wanted.length
        ? wanted.map((a) => {
            pending.splice(pending.indexOf(a), 1);
            return pickRequested(network, table, set, a, key);
          })
        : [pickFree(network, table, set, index, last, containerId, key, unheld)];
      for (const pick of picks) {
        const fresh = isFresh(pick.address, highest);
        made.push({ ...pick, set: index, fresh });
        table.setLastReserved(index, pick.address);
        if (fresh) highest = pick.address;
      }
      // Raised, before any address is used, to a fresh one or to host-local's last_reserved_ip, which a
      // lower reservation (this one's) has just overwritten.
      if (typeof highest === "object" && highest !== null && highest.value !== recorded?.value) table.setRecordedHighest(index, highest);
    }
    if (pending.length > 0) {
      const ranges = sets.map(describeRangeSet).join(" ");
      throw new UsageError(`network ${network}: requested IP address ${pending.map(formatAddress).join(", ")} is in no range of the network (${ranges})`);
    }
  } catch (err) {
    for (const pick of made) table.remove(formatAddress(pick.address));
    if (input.ownerMarks && !marked) table.unmarkOwner(key);
    throw err;
  }
  return made.map((pick) => {
    const r = sets[pick.set]![pick.range]!;
    const ip = formatAddress(pick.address);
    return { address: `${ip}/${r.prefixLength}`, ip, prefixLength: r.prefixLength, gateway: formatAddress(r.gateway), rangeSet: pick.set, fresh: pick.fresh };
  });
}
