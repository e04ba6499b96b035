// ctrnet's IPAM: host-local's allocator and its table on disk, in-process. Every call is synchronous file
// I/O under the table's lock and spawns nothing; podman's CNI backend (running host-local) and ctrnet can
// share one network's table without an address ever being handed out twice.
import { join } from "node:path";
import * as v from "valibot";
import { UsageError } from "../../errors.ts";
import { validateName } from "../../names.ts";
import { HostLocalIpam, type HostLocalRangeSet } from "../../schema/host-local.ts";
import { describeIssues } from "../../schema/issues.ts";
import { validateIfName } from "../cni/ifname.ts";
import { type Address, compareBytes, parseAddress, sameAddress } from "./address.ts";
import { type Allocation, allocateLocked, parseRequested } from "./allocate.ts";
import { compileRangeSets } from "./ranges.ts";
import { goTrimSpace, type LeaseFile, ownerKey, type Table, withExistingTable, withTable } from "./table.ts";

export type { Allocation } from "./allocate.ts";
export type { HostLocalRange, HostLocalRangeSet } from "../../schema/host-local.ts";

/** host-local's dataDir when the configuration names none. */
export const HOST_LOCAL_DATA_DIR = "/var/lib/cni/networks";

/** Where ctrnet keeps a network's table given its CNI cache directory: host-local's default for root. */
export function ipamDataDir(cniCacheDir: string): string {
  return join(cniCacheDir, "networks");
}

export interface IpamConfig {
  /** Absent when the section names none: the caller picks (ipamDataDir, or HOST_LOCAL_DATA_DIR). */
  dataDir?: string;
  rangeSets: HostLocalRangeSet[];
}

/** A network's `ipam` section as host-local reads it: the single-range keys, when given, come before `ranges`. */
export function parseIpamConfig(network: string, section: unknown): IpamConfig {
  const parsed = v.safeParse(HostLocalIpam, section);
  if (!parsed.success) throw new UsageError(`network ${network}: ipam: ${describeIssues(parsed.issues)}`);
  const ipam = parsed.output;
  const rangeSets = [...(ipam.ranges ?? [])];
  if (typeof ipam.subnet === "string" && ipam.subnet !== "") {
    rangeSets.unshift([{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]);
  }
  return { ...(ipam.dataDir ? { dataDir: ipam.dataDir } : {}), rangeSets };
}

export interface IpamScope {
  /** The directory holding one table per network, e.g. /var/lib/cni/networks. */
  dataDir: string;
  network: string;
}

export interface Attachment {
  containerId: string;
  ifName: string;
}

export interface AllocateRequest extends IpamScope, Attachment {
  rangeSets: readonly HostLocalRangeSet[];
  /** Addresses asked for (`--ip`, the `ips` capability), at most one per range set. */
  requested?: readonly string[];
  /**
   * The caller knows of no lease of the interface: ctrnet records every attachment it allocates for
   * (drivers/bridge, whoever runs it), and has no record of this one. With `ownerMarks`, the duplicate
   * check, which reads every lease file, is then skipped unless the interface's owner mark exists (a lease
   * left by an attach killed before its record, or a record lost with its state dir while the table
   * stayed): one lookup instead of a read of the whole table. host-local's own allocations are other
   * runtimes' containers, with other ids. Without both flags the check is made as host-local makes it.
   */
  unheld?: boolean;
  /** Keep an owner mark per interface beside the leases (table.ts), for `unheld`; release and GC remove it. */
  ownerMarks?: boolean;
}

export interface Lease {
  ip: string;
  containerId: string;
  /** Absent in files of host-local versions that wrote only the container id. */
  ifName?: string;
}

function tableDir(scope: IpamScope): string {
  return join(scope.dataDir, validateName("network name", scope.network));
}

function checkAttachment(a: Attachment): void {
  validateName("container id", a.containerId);
  validateIfName("interface name", a.ifName);
}

function toLease(file: LeaseFile): Lease {
  const cut = file.owner.indexOf("\r\n");
  if (cut < 0) return { ip: file.name, containerId: file.owner };
  return { ip: file.name, containerId: file.owner.slice(0, cut), ifName: file.owner.slice(cut + 2) };
}

function byAddress(a: LeaseFile, b: LeaseFile): number {
  return compareBytes(a.bytes, b.bytes);
}

function removeAll(table: Table, files: readonly LeaseFile[]): Lease[] {
  for (const file of files) table.remove(file.name);
  return [...files].sort(byAddress).map(toLease);
}

/** One address from each range set for the container's interface, or an error and nothing changed. */
export function allocate(request: AllocateRequest): Allocation[] {
  const dir = tableDir(request);
  checkAttachment(request);
  let sets;
  try {
    sets = compileRangeSets(request.rangeSets);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`network ${request.network}: ${err.message}`);
    throw err;
  }
  const requested: Address[] = [];
  for (const address of (request.requested ?? []).map(parseRequested)) {
    if (!requested.some((r) => sameAddress(r, address))) requested.push(address);
  }
  return withTable(dir, (table) =>
    allocateLocked(table, {
      network: request.network,
      sets,
      containerId: request.containerId,
      ifName: request.ifName,
      requested,
      unheld: request.unheld === true,
      ownerMarks: request.ownerMarks === true,
    }),
  );
}

export interface ReleaseRequest extends IpamScope, Attachment {
  /**
   * The addresses the caller recorded for the attachment (its Allocation ips). When every one of their
   * files still names the attachment, only those files are read and removed; otherwise, or when absent,
   * every file of the table is, as host-local does. Reading one file instead of thousands is what keeps a
   * detach from slowing down as the network fills.
   */
  known?: readonly string[];
}

function knownLeases(table: Table, known: readonly string[], key: string): LeaseFile[] | undefined {
  const addresses = known.map(parseAddress);
  if (addresses.some((a) => a === null)) return undefined;
  const unique = addresses.filter((a, i) => addresses.findIndex((b) => sameAddress(a!, b!)) === i);
  const files = unique.map((a) => table.lease(a!));
  return files.length > 0 && files.every((f) => f?.owner === key) ? (files as LeaseFile[]) : undefined;
}

/**
 * host-local's ReleaseByID: every lease of the container's interface, in any range set; when there is
 * none, every lease that names only the container id (written by old host-local versions). Returns what
 * it released; nothing to release is no error.
 */
export function release(request: ReleaseRequest): Lease[] {
  const dir = tableDir(request);
  checkAttachment(request);
  const key = ownerKey(request.containerId, request.ifName);
  const id = goTrimSpace(request.containerId);
  return withExistingTable(
    dir,
    (table) => {
      const known = knownLeases(table, request.known ?? [], key);
      const exact = known ?? table.leases().filter((l) => l.owner === key);
      const released = removeAll(table, exact.length > 0 ? exact : table.leases().filter((l) => l.owner === id));
      // after the leases: a crash in between leaves a mark without them, which costs a scan, never an address
      table.unmarkOwner(key);
      return released;
    },
    [],
  );
}

/** The network's leases, IPv4 before IPv6, in address order. */
export function leases(scope: IpamScope): Lease[] {
  return withExistingTable(tableDir(scope), (table) => [...table.leases()].sort(byAddress).map(toLease), []);
}

/**
 * CNI 1.1 GC for one network: releases every lease that belongs to none of the valid attachments, including
 * files that name no owner at all (a host-local killed between creating and writing one). A lease that
 * names only a container id is valid while any attachment of that container is. Returns what it released.
 */
export function gcLeases(scope: IpamScope, valid: readonly Attachment[]): Lease[] {
  const dir = tableDir(scope);
  valid.forEach(checkAttachment);
  const keys = new Set(valid.map((a) => ownerKey(a.containerId, a.ifName)));
  const ids = new Set(valid.map((a) => goTrimSpace(a.containerId)));
  return withExistingTable(
    dir,
    (table) => {
      for (const mark of table.ownerMarks()) if (!keys.has(mark.owner) && !ids.has(mark.owner)) table.unmarkOwner(mark.owner);
      return removeAll(table, table.leases().filter((l) => !keys.has(l.owner) && !ids.has(l.owner)));
    },
    [],
  );
}

