// host-local's allocation table on disk (backend/disk/backend.go and lock.go), byte for byte, so that
// host-local and ctrnet can hand out addresses of one network without ever giving one out twice:
//   <dataDir>/<network>/                 made 0755
//   <dataDir>/<network>/<address>        one per lease, made with O_EXCL, holding "<containerId>\r\n<ifName>"
//   <dataDir>/<network>/last_reserved_ip.<N>   the address last handed out from range set N, no newline
//   <dataDir>/<network>/lock             an empty file; an exclusive flock on it guards every change
// and ctrnet's own beside them, which host-local never takes for a lease (their names are no address):
//   <dataDir>/<network>/.ctrnet-owners/  owner marks (below)
//   <dataDir>/<network>/.ctrnet-highest.<N>   the highest address ever handed out from range set N (below)
// Files of old host-local versions hold only the container id; they are matched as host-local matches them.
import { closeSync, type Dirent, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync, writeSync } from "../../../ffi/fs.ts";
import { join } from "node:path";
import { withLockSync } from "../../state/lock.ts";
import { type Address, formatAddress, leaseBytes, parseAddress } from "./address.ts";

const LOCK_FILE = "lock";
/**
 * ctrnet's owner marks: one file per attachment that holds leases, named by a hash of its owner key and
 * holding that key, as a lease file does. They let an allocation know in one lookup, not a read of every
 * lease, that the interface holds none. In a subdirectory, which host-local's walks (GetByID, ReleaseByID)
 * go through: its DEL removes a mark with the leases, since the content matches; a name that is no
 * address is never taken for a lease.
 */
const OWNERS_DIR = ".ctrnet-owners";
const LAST_RESERVED_PREFIX = "last_reserved_ip.";
/**
 * ctrnet's record of how far range set N has ever been handed out: every address above it is new to the
 * network (allocate.ts fresh). Written by ctrnet's allocations when it rises, and kept, as
 * last_reserved_ip is, when the table has no lease left.
 */
const HIGHEST_PREFIX = ".ctrnet-highest.";
const LINE_BREAK = "\r\n";
/** go-filemutex's permissions for a lock file it creates; the first program to lock makes the file. */
const LOCK_MODE = 0o750;
/** As current host-local makes lease files (1.1.x made them 0644); the mode matters to neither reader. */
const LEASE_MODE = 0o600;
const DIR_MODE = 0o755;

/** Go's strings.TrimSpace: Unicode White_Space, which differs from String.prototype.trim (U+0085, U+FEFF). */
const GO_SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const GO_TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, "g");
const GO_SPACE_AT_END = new RegExp(`^${GO_SPACE}|${GO_SPACE}$`);

export function goTrimSpace(text: string): string {
  // Most files have nothing to trim; the test is cheaper than the replace, and tables hold thousands.
  return GO_SPACE_AT_END.test(text) ? text.replace(GO_TRIM, "") : text;
}

/** What a lease file holds for an attachment. */
export function ownerKey(containerId: string, ifName: string): string {
  return `${goTrimSpace(containerId)}${LINE_BREAK}${ifName}`;
}

export interface LeaseFile {
  name: string;
  /** The address the name stands for: 4 or 16 bytes. */
  bytes: Uint8Array;
  /** The file's content with surrounding white space trimmed, as host-local compares it. */
  owner: string;
}

/** After this many taken candidates in one call, the directory is listed once and the walk goes on in memory. */
const DIRECT_TRIES = 8;

/**
 * The directory as one locked call sees it. It is listed only when a call needs every lease (or the walk
 * for a free address meets many taken ones): an allocation that finds the address after the last one
 * free, and a release of addresses the caller knows, touch one file each, however full the table is.
 */
export class Table {
  private listing: { entries: Dirent[]; names: Set<string> } | undefined;
  private cache: LeaseFile[] | undefined;
  private taken = 0;

  constructor(readonly dir: string) {}

  private list(): { entries: Dirent[]; names: Set<string> } {
    if (this.listing === undefined) {
      const entries = readdirSync(this.dir, { withFileTypes: true });
      this.listing = { entries, names: new Set(entries.map((e) => e.name)) };
    }
    return this.listing;
  }

  /**
   * A lease is a regular file named by an address's canonical text: the only name that keeps the address
   * from being handed out again; anything else in the directory is left alone. Files that vanish or
   * cannot be read are skipped, as host-local's walk skips them. Read once, on first use.
   */
  leases(): LeaseFile[] {
    this.cache ??= this.list().entries.flatMap((e) => {
      const bytes = e.isFile() ? leaseBytes(e.name) : null;
      if (bytes === null) return [];
      try {
        return [{ name: e.name, bytes, owner: goTrimSpace(readFileSync(join(this.dir, e.name), "utf8")) }];
      } catch {
        return [];
      }
    });
    return this.cache;
  }

  /** One lease file, read alone; undefined when there is none of that address (or it cannot be read). */
  lease(address: Address): LeaseFile | undefined {
    const name = formatAddress(address);
    if (this.listing !== undefined && !this.listing.names.has(name)) return undefined;
    const bytes = leaseBytes(name)!;
    try {
      return { name, bytes, owner: goTrimSpace(readFileSync(join(this.dir, name), "utf8")) };
    } catch {
      return undefined;
    }
  }

  /** Creates the lease file if no entry has the name yet; false when one has. */
  reserve(address: Address, key: string): boolean {
    const name = formatAddress(address);
    if (this.listing?.names.has(name)) return false;
    const path = join(this.dir, name);
    let fd: number;
    try {
      fd = openSync(path, "wx", LEASE_MODE);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        this.listing?.names.add(name);
        // a crowded stretch of the range: one listing costs less than a failed create per address
        if (++this.taken === DIRECT_TRIES) this.list();
        return false;
      }
      throw err;
    }
    try {
      writeSync(fd, key);
    } catch (err) {
      closeSync(fd);
      unlinkSync(path);
      throw err;
    }
    closeSync(fd);
    this.listing?.names.add(name);
    return true;
  }

  remove(name: string): void {
    unlinkSync(join(this.dir, name));
    this.listing?.names.delete(name);
  }

  private markPath(key: string): string {
    return join(this.dir, OWNERS_DIR, new Bun.CryptoHasher("sha256").update(key).digest("hex").slice(0, 32));
  }

  hasOwnerMark(key: string): boolean {
    return existsSync(this.markPath(key));
  }

  /** Written before the attachment's first lease, so that no crash can leave a lease without its mark. */
  markOwner(key: string): void {
    mkdirSync(join(this.dir, OWNERS_DIR), { recursive: true, mode: DIR_MODE });
    writeFileSync(this.markPath(key), key, { mode: LEASE_MODE });
  }

  /** The directory goes with its last mark: a table with no attachment left holds what host-local's would. */
  unmarkOwner(key: string): void {
    rmSync(this.markPath(key), { force: true });
    try {
      rmdirSync(join(this.dir, OWNERS_DIR));
    } catch {
      // other attachments' marks are in it (ENOTEMPTY), or there is none (ENOENT)
    }
  }

  /** Every mark with the owner it names (trimmed as a lease's); for GC. */
  ownerMarks(): { path: string; owner: string }[] {
    let names: string[];
    try {
      names = readdirSync(join(this.dir, OWNERS_DIR));
    } catch {
      return [];
    }
    return names.flatMap((name) => {
      const path = join(this.dir, OWNERS_DIR, name);
      try {
        return [{ path, owner: goTrimSpace(readFileSync(path, "utf8")) }];
      } catch {
        return [];
      }
    });
  }

  /** host-local parses the file as it is (no trimming) and ignores what does not parse. */
  lastReserved(rangeSet: number): Address | undefined {
    return this.addressFile(`${LAST_RESERVED_PREFIX}${rangeSet}`);
  }

  private addressFile(name: string): Address | undefined {
    try {
      return parseAddress(readFileSync(join(this.dir, name), "utf8")) ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** ctrnet's record of the highest address range set N has handed out (HIGHEST_PREFIX); undefined when it has none. */
  recordedHighest(rangeSet: number): Address | undefined {
    return this.addressFile(`${HIGHEST_PREFIX}${rangeSet}`);
  }

  setRecordedHighest(rangeSet: number, address: Address): void {
    writeFileSync(join(this.dir, `${HIGHEST_PREFIX}${rangeSet}`), formatAddress(address), { mode: LEASE_MODE });
  }

  setLastReserved(rangeSet: number, address: Address): void {
    writeFileSync(join(this.dir, `${LAST_RESERVED_PREFIX}${rangeSet}`), formatAddress(address), { mode: LEASE_MODE });
  }
}

/** Runs fn on the network's table under its lock, making the directory first as host-local does. */
export function withTable<T>(dir: string, fn: (table: Table) => T): T {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  return withLockSync(join(dir, LOCK_FILE), () => fn(new Table(dir)), LOCK_MODE);
}

/** As withTable, for calls that only read or remove: a network that never had a lease needs no directory. */
export function withExistingTable<T>(dir: string, fn: (table: Table) => T, none: T): T {
  if (!existsSync(dir)) return none;
  return withLockSync(join(dir, LOCK_FILE), () => fn(new Table(dir)), LOCK_MODE);
}
