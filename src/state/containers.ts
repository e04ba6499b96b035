// Container network records in the state database. Each method is one transaction; several calls made
// inside `transaction(fn)` share one. Work that must await (CNI plugins, netns setup) happens outside any
// transaction: a command inserts the record as `creating` to claim the id, does the work, then updates it.
import type { Database } from "bun:sqlite";
import * as v from "valibot";
import { CtrnetError, NotFoundError, quote, UsageError } from "../errors.ts";
import { NAME_PATTERN, validateName } from "../names.ts";
import { closeDatabase, databasePath, openDatabase, runtimeDir, type StateLocation, writeTransaction } from "./db.ts";
import { addressHolders, heldAddressesOf, hostPortHolders, insertAddresses, insertHostPorts } from "./indexes.ts";
import { ContainerRecord, type NetworkAttachment, type RecordState, staticsOf } from "./record.ts";
import { PortMapping } from "../schema/ports.ts";
import { NetworkStatus } from "../schema/network-status.ts";
import { describeIssues } from "../schema/issues.ts";
import { log } from "../log.ts";

// A type alias rather than an interface: only aliases are assignable to bun:sqlite's binding records.
type ContainerRow = {
  id: string;
  name: string | null;
  state: string;
  mode: string;
  netns_path: string | null;
  owns_netns: number;
  static_ip: string | null;
  static_mac: string | null;
  ports: string;
  slirp4netns_pid: number | null;
  port_forwarder_pid: number | null;
  pasta_pid: number | null;
  static_ip6: string | null;
  exposed: string | null;
  publish_all: number | null;
  etc: string | null;
  created_at: number;
};

type InterfaceRow = {
  container_id: string;
  network: string;
  ifname: string;
  position: number | null;
  aliases: string;
  status: string | null;
  statics: string | null;
};

/**
 * Refills a new database that replaces a damaged one from what the system still holds (the lifecycle
 * knows where: the CNI cache, the netns files); returns what it did, in words.
 */
export type RebuildRecords = (fresh: ContainerState) => string;

const PublishedPorts = v.array(PortMapping);

/** How many records a ContainerState keeps as read (see its `recent`). */
const RECENT_RECORDS = 8;

export function openState(location: StateLocation = {}, rebuild?: RebuildRecords): ContainerState {
  return new ContainerState(runtimeDir(location), rebuild);
}

/** A row that no longer reads back as a record (edited by hand, or a bit flipped past quick_check). */
export class DamagedRecordError extends CtrnetError {
  constructor(
    readonly id: string,
    message: string,
  ) {
    super(message);
    this.name = "DamagedRecordError";
  }
}

/** podman's words for a container that is not there. */
export function noSuchContainer(idOrName: string): string {
  return `no container with name or ID "${idOrName}" found: no such container`;
}

export class ContainerState {
  readonly path: string;
  private readonly db: Database;
  /** Damaged records this process has warned about. */
  private readonly told = new Set<string>();
  /**
   * The records last read, by the text of their rows: a command reads its container's row several times
   * (before its lock and under it, for its dependents, at each change of state), and the same text always
   * reads back as the same record, whose check is the costliest part of a read in a fresh process. A few
   * only: a long-running reader (the supervisor) or `ls` must not keep every row it ever saw.
   */
  private readonly recent = new Map<string, ContainerRecord>();

  /** dir: the runtime directory; or an open database (the one a rebuild fills before it is in place). */
  constructor(dir: string | { db: Database; path: string }, rebuild?: RebuildRecords) {
    if (typeof dir !== "string") {
      this.path = dir.path;
      this.db = dir.db;
      return;
    }
    this.path = databasePath(dir);
    this.db = openDatabase(this.path, rebuild && ((db, path) => rebuild(new ContainerState({ db, path }))));
  }

  close(): void {
    closeDatabase(this.db, this.path);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Runs fn (synchronous) in one write transaction; the store's own methods nest inside it. */
  transaction<T>(fn: () => T): T {
    return writeTransaction(this.db, this.path, fn);
  }

  insert(input: ContainerRecord): ContainerRecord {
    validateName("container id", input.id);
    if (input.name !== null) validateName("container name", input.name);
    const rec = this.check(input);
    return this.transaction(() => {
      if (this.row(rec.id)) throw new UsageError(`container "${rec.id}" already exists`);
      const owner = this.idByName(rec.id);
      if (owner !== undefined) throw new UsageError(`container id "${rec.id}" is already the name of container "${owner}"`);
      this.checkNameFree(rec.name, rec.id);
      this.db
        .query(
          `INSERT INTO containers (id, name, state, mode, netns_path, owns_netns, static_ip, static_mac, ports,
             slirp4netns_pid, port_forwarder_pid, pasta_pid, created_at, static_ip6, exposed, publish_all, etc)
           VALUES ($id, $name, $state, $mode, $netns_path, $owns_netns, $static_ip, $static_mac, $ports,
             $slirp4netns_pid, $port_forwarder_pid, $pasta_pid, $created_at, $static_ip6, $exposed, $publish_all, $etc)`,
        )
        .run(toRow(rec));
      this.writeInterfaces(rec);
      insertHostPorts(this.db, rec.id, rec.ports);
      this.wrote(rec);
      return rec;
    });
  }

  /** Full id, then name, then a unique id prefix, as podman looks containers up. */
  find(idOrName: string): ContainerRecord | undefined {
    validateName("container id or name", idOrName);
    return this.db.transaction(() => {
      const row = this.row(idOrName) ?? this.rowByName(idOrName) ?? this.rowByPrefix(idOrName);
      return row && this.load(row);
    })();
  }

  /** The record with this exact id, else with this exact name: no prefix (so never an ambiguous one). */
  findExact(idOrName: string): ContainerRecord | undefined {
    validateName("container id or name", idOrName);
    return this.db.transaction(() => {
      const row = this.row(idOrName) ?? this.rowByName(idOrName);
      return row && this.load(row);
    })();
  }

  get(idOrName: string): ContainerRecord {
    const rec = this.find(idOrName);
    if (!rec) throw new NotFoundError(noSuchContainer(idOrName));
    return rec;
  }

  /**
   * Oldest first; `state` picks e.g. the records a crashed command left `creating`. A damaged record is
   * left out, said once per process: one bad row must not stop every command (`rm -f ID` and `gc`
   * replace it; see damaged()).
   */
  list(filter: { state?: RecordState } = {}): ContainerRecord[] {
    return this.db.transaction(() => {
      const rows =
        filter.state === undefined
          ? this.db.query<ContainerRow, []>("SELECT * FROM containers ORDER BY created_at, id").all()
          : this.db.query<ContainerRow, [string]>("SELECT * FROM containers WHERE state = ? ORDER BY created_at, id").all(filter.state);
      const interfaces = this.allInterfaces();
      return rows.flatMap((row) => {
        try {
          return [this.loadUncached(row, interfaces.get(row.id) ?? [])];
        } catch (err) {
          if (!(err instanceof DamagedRecordError)) throw err;
          if (!this.told.has(row.id)) log.warn(err.message);
          this.told.add(row.id);
          return [];
        }
      });
    })();
  }

  /**
   * The host ports of the records that publish one of the same protocol in one of near's ranges (others
   * cannot clash with them), read without the rest of each record: what a create checks its own against.
   * Found through the host_ports index, so the cost does not grow with the records; a mapping whose host
   * port is still to be chosen (0) finds none. A row whose ports do not read back is left out, said once
   * per process, as list() leaves out a damaged record.
   */
  publishedPorts(near: readonly PortMapping[]): { id: string; ports: PortMapping[] }[] {
    const rows = this.db.transaction(() => {
      const ids = near.flatMap((m) => (m.hostPort === 0 ? [] : hostPortHolders(this.db, m.protocol, m.hostPort, m.range)));
      if (!ids.length) return [];
      return this.db
        .query<Pick<ContainerRow, "id" | "ports">, [string]>("SELECT id, ports FROM containers WHERE id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id")
        .all(JSON.stringify(ids));
    })();
    return rows.flatMap((row) => {
      let parsed;
      try {
        parsed = v.safeParse(PublishedPorts, JSON.parse(row.ports));
      } catch {
        parsed = undefined;
      }
      if (parsed?.success) return [{ id: row.id, ports: parsed.output }];
      const err = this.corrupt(row.id, parsed ? describeIssues(parsed.issues) : "ports is not valid JSON");
      if (!this.told.has(row.id)) log.warn(err.message);
      this.told.add(row.id);
      return [];
    });
  }

  /**
   * The records that hold the address on the network (see indexes.ts heldAddressesOf), found through the
   * addresses index; a damaged one is left out, as list() leaves it out.
   */
  addressHolders(network: string, address: string): ContainerRecord[] {
    return this.db.transaction(() =>
      addressHolders(this.db, network, address).flatMap((id) => {
        const row = this.row(id);
        if (!row) return [];
        try {
          return [this.load(row)];
        } catch (err) {
          if (!(err instanceof DamagedRecordError)) throw err;
          return [];
        }
      }),
    )();
  }

  /**
   * The records of the containers in this one's netns (mode container:ID), found by their mode's text
   * instead of by reading every record (about 40 ms a rm at 1,000 containers); a damaged one is left out,
   * as list() leaves it out.
   */
  sharingNetnsOf(id: string): ContainerRecord[] {
    return this.db.transaction(() =>
      this.db
        .query<ContainerRow, [string]>(
          "SELECT * FROM containers WHERE (CASE WHEN json_valid(mode) THEN json_extract(mode, '$.kind') = 'container' AND json_extract(mode, '$.id') = ? END) ORDER BY created_at, id",
        )
        .all(id)
        .flatMap((row) => {
          try {
            return [this.loadUncached(row)];
          } catch (err) {
            if (!(err instanceof DamagedRecordError)) throw err;
            return [];
          }
        }),
    )();
  }

  /** Ids of the records that cannot be read back. */
  damaged(): string[] {
    return this.db.transaction(() => {
      const interfaces = this.allInterfaces();
      return this.db
        .query<ContainerRow, []>("SELECT * FROM containers ORDER BY created_at, id")
        .all()
        .flatMap((row) => {
          try {
            this.loadUncached(row, interfaces.get(row.id) ?? []);
            return [];
          } catch (err) {
            if (err instanceof DamagedRecordError) return [row.id];
            throw err;
          }
        });
    })();
  }

  /**
   * Reads the record with this exact id, lets fn return the new version, and stores it, all under the
   * write lock, so concurrent updates of one record never lose each other's changes.
   */
  update(id: string, fn: (rec: ContainerRecord) => ContainerRecord): ContainerRecord {
    return this.transaction(() => {
      const row = this.row(id);
      if (!row) throw new NotFoundError(noSuchContainer(id));
      const next = this.check(fn(this.load(row)));
      if (next.id !== id) throw new CtrnetError(`a container's id cannot change (${id} -> ${next.id})`);
      if (next.name !== row.name) this.checkNameFree(next.name, id);
      this.db
        .query(
          `UPDATE containers SET name = $name, state = $state, mode = $mode, netns_path = $netns_path,
             owns_netns = $owns_netns, static_ip = $static_ip, static_mac = $static_mac, ports = $ports,
             slirp4netns_pid = $slirp4netns_pid, port_forwarder_pid = $port_forwarder_pid, pasta_pid = $pasta_pid, created_at = $created_at,
             static_ip6 = $static_ip6, exposed = $exposed, publish_all = $publish_all, etc = $etc
           WHERE id = $id`,
        )
        .run(toRow(next));
      this.db.query("DELETE FROM interfaces WHERE container_id = ?").run(id);
      this.writeInterfaces(next);
      this.db.query("DELETE FROM host_ports WHERE container_id = ?").run(id);
      insertHostPorts(this.db, id, next.ports);
      this.wrote(next);
      return next;
    });
  }

  /**
   * Only the record's state (a create's last step): the rest is returned as stored, neither checked again
   * nor rewritten with its interfaces, as update would (about half a millisecond of a create).
   */
  setState(id: string, state: RecordState): ContainerRecord {
    return this.transaction(() => {
      const row = this.row(id);
      if (!row) throw new NotFoundError(noSuchContainer(id));
      this.db.query("UPDATE containers SET state = ? WHERE id = ?").run(state, id);
      return { ...this.load(row), state };
    });
  }

  /**
   * One connected network's status alone (what a create's setup returned, network after network): checked
   * as update checks it within the record, and stored in that network's row; the rest of the record is
   * neither checked again nor rewritten with its interfaces, as update would. Returns the record as
   * stored. A network the record is not connected to changes nothing, as with withStatus.
   */
  setStatus(id: string, network: string, status: NetworkStatus | null): ContainerRecord {
    let checked: NetworkStatus | null = null;
    if (status !== null) {
      const parsed = v.safeParse(NetworkStatus, status);
      if (!parsed.success) throw new CtrnetError(`invalid record for container "${id}": status of network ${network}: ${describeIssues(parsed.issues)}`);
      checked = parsed.output;
    }
    return this.transaction(() => {
      const row = this.row(id);
      if (!row) throw new NotFoundError(noSuchContainer(id));
      const before = this.load(row);
      const attachment = before.networks.find((n) => n.network === network);
      if (attachment === undefined) return before;
      this.db.query("UPDATE interfaces SET status = ? WHERE container_id = ? AND network = ?").run(checked === null ? null : JSON.stringify(checked), id, network);
      this.db.query("DELETE FROM addresses WHERE container_id = ? AND network = ?").run(id, network);
      insertAddresses(this.db, id, network, heldAddressesOf(checked, staticsOf(before, attachment)));
      // the record as read before, with the status just written: no read back
      const next = { ...before, networks: before.networks.map((n) => (n.network === network ? { ...n, status: checked } : n)) };
      this.wrote(next);
      return next;
    });
  }

  /** Removes the record with this exact id; false when there was none, so a repeated teardown is not an error. */
  remove(id: string): boolean {
    return this.transaction(() => this.db.query("DELETE FROM containers WHERE id = ?").run(id).changes > 0);
  }

  private row(id: string): ContainerRow | undefined {
    return this.db.query<ContainerRow, [string]>("SELECT * FROM containers WHERE id = ?").get(id) ?? undefined;
  }

  private rowByName(name: string): ContainerRow | undefined {
    return this.db.query<ContainerRow, [string]>("SELECT * FROM containers WHERE name = ?").get(name) ?? undefined;
  }

  /** GLOB is safe here: validated names contain none of its special characters. */
  private rowByPrefix(prefix: string): ContainerRow | undefined {
    const rows = this.db.query<ContainerRow, [string]>("SELECT * FROM containers WHERE id GLOB ? || '*' ORDER BY id LIMIT 6").all(prefix);
    if (rows.length > 1) {
      const shown = rows.slice(0, 5).map((r) => r.id).join(", ");
      throw new UsageError(`container id prefix "${prefix}" is ambiguous: it matches ${shown}${rows.length > 5 ? ", …" : ""}`);
    }
    return rows[0];
  }

  private idByName(name: string): string | undefined {
    return this.db.query<{ id: string }, [string]>("SELECT id FROM containers WHERE name = ?").get(name)?.id;
  }

  /** Names and ids share one namespace, so that a lookup by either can never be ambiguous. */
  private checkNameFree(name: string | null, id: string): void {
    if (name === null) return;
    const owner = this.idByName(name) ?? this.row(name)?.id;
    if (owner !== undefined && owner !== id) {
      throw new UsageError(`container name "${name}" is already in use by container "${owner}"`);
    }
  }

  private writeInterfaces(rec: ContainerRecord): void {
    const insert = this.db.query(
      `INSERT INTO interfaces (container_id, network, ifname, position, aliases, status, statics)
       VALUES ($container_id, $network, $ifname, $position, $aliases, $status, $statics)`,
    );
    for (const row of interfaceRowsOf(rec)) {
      insert.run(row);
      const attachment = row.position === null ? undefined : rec.networks[row.position];
      if (attachment) insertAddresses(this.db, rec.id, row.network, heldAddressesOf(attachment.status, staticsOf(rec, attachment)));
    }
  }

  private interfacesOf(row: ContainerRow): InterfaceRow[] {
    return this.db.query<InterfaceRow, [string]>("SELECT * FROM interfaces WHERE container_id = ? ORDER BY position, network").all(row.id);
  }

  /**
   * Every record's interface rows in one query, by container, each in load's order: for a read of every
   * record, one query per record cost more than all the rest of it together.
   */
  private allInterfaces(): Map<string, InterfaceRow[]> {
    const out = new Map<string, InterfaceRow[]>();
    for (const i of this.db.query<InterfaceRow, []>("SELECT * FROM interfaces ORDER BY container_id, position, network").all()) {
      const mine = out.get(i.container_id);
      if (mine) mine.push(i);
      else out.set(i.container_id, [i]);
    }
    return out;
  }

  /** For reads of every row (list): each row once, so nothing to remember; interfaces when read already (allInterfaces). */
  private loadUncached(row: ContainerRow, interfaces: InterfaceRow[] = this.interfacesOf(row)): ContainerRecord {
    return this.parseRow(row, interfaces);
  }

  private load(row: ContainerRow): ContainerRecord {
    const interfaces = this.interfacesOf(row);
    const text = rowsKey(row, interfaces);
    const known = this.recent.get(text);
    // a copy: a caller may change what it was given, never what the next one gets
    if (known !== undefined) return structuredClone(known);
    const rec = this.parseRow(row, interfaces);
    this.keep(text, rec);
    return structuredClone(rec);
  }

  private keep(text: string, rec: ContainerRecord): void {
    this.recent.delete(text);
    this.recent.set(text, rec);
    if (this.recent.size > RECENT_RECORDS) this.recent.delete(this.recent.keys().next().value!);
  }

  /**
   * A record this process just wrote (checked on its way in), known by the text its rows read back as: the
   * command's next read of it (its lock's, a change of state) is a copy, not a second check of the same
   * record. What another process writes meanwhile reads back as other text, and is read as usual.
   */
  private wrote(rec: ContainerRecord): void {
    this.keep(rowsKey(toRow(rec), interfaceRowsOf(rec)), structuredClone(rec));
  }

  private parseRow(row: ContainerRow, interfaces: InterfaceRow[]): ContainerRecord {
    const json = (text: string, column: string): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        throw this.corrupt(row.id, `${column} is not valid JSON`);
      }
    };
    const candidate = {
      id: row.id,
      name: row.name,
      state: row.state,
      mode: json(row.mode, "mode"),
      netns: row.netns_path === null ? null : { path: row.netns_path, owned: row.owns_netns === 1 },
      networks: interfaces
        .filter((i) => i.position !== null)
        .map((i) => ({
          network: i.network,
          ifname: i.ifname,
          aliases: json(i.aliases, `aliases of network ${i.network}`),
          status: i.status === null ? null : json(i.status, `status of network ${i.network}`),
          ...(i.statics === null ? {} : staticsFields(json(i.statics, `static addresses of network ${i.network}`))),
        })),
      ifnames: Object.fromEntries(interfaces.map((i) => [i.network, i.ifname])),
      staticIP: row.static_ip,
      staticMAC: row.static_mac,
      ports: json(row.ports, "ports"),
      ...(row.static_ip6 === null ? {} : { staticIP6: row.static_ip6 }),
      ...(row.exposed === null ? {} : { exposed: json(row.exposed, "exposed") }),
      ...(row.publish_all === 1 ? { publishAll: true as const } : {}),
      ...(row.etc === null ? {} : { etc: json(row.etc, "etc") }),
      helpers: { slirp4netns: row.slirp4netns_pid, portForwarder: row.port_forwarder_pid, pasta: row.pasta_pid },
      createdAt: row.created_at,
    };
    const parsed = v.safeParse(ContainerRecord, candidate);
    if (!parsed.success) throw this.corrupt(row.id, describeIssues(parsed.issues));
    return parsed.output;
  }

  private corrupt(id: string, what: string): DamagedRecordError {
    // an id that is no name cannot be given to rm (nor made into a path): only gc reaches it
    const way = NAME_PATTERN.test(id) ? `ctrnet rm -f ${id} or ctrnet gc replaces it` : "ctrnet gc removes it";
    return new DamagedRecordError(id, `state database ${this.path}: the record of container ${quote(id)} is damaged: ${what}; ${way}`);
  }

  /** Records from callers are checked like those read back, so nothing invalid is ever stored. */
  private check(rec: ContainerRecord): ContainerRecord {
    const parsed = v.safeParse(ContainerRecord, rec);
    if (!parsed.success) throw new CtrnetError(`invalid record for container "${rec.id}": ${describeIssues(parsed.issues)}`);
    return parsed.output;
  }
}

/** A record's interface rows, as written, in the order interfacesOf reads them (SQLite sorts NULL first). */
function interfaceRowsOf(rec: ContainerRecord): InterfaceRow[] {
  const rows = Object.entries(rec.ifnames).map(([network, ifname]): InterfaceRow => {
    const position = rec.networks.findIndex((n) => n.network === network);
    const attachment = rec.networks[position];
    return {
      container_id: rec.id,
      network,
      ifname,
      position: attachment ? position : null,
      aliases: JSON.stringify(attachment?.aliases ?? []),
      status: attachment?.status == null ? null : JSON.stringify(attachment.status),
      statics: attachment ? staticsColumn(attachment) : null,
    };
  });
  // names are ASCII (NAME_PATTERN): JavaScript's order of them is SQLite's
  return rows.sort((a, b) => (a.position ?? -1) - (b.position ?? -1) || (a.network < b.network ? -1 : a.network > b.network ? 1 : 0));
}

/** The columns of a container row, in one order whatever order a query gives them in. */
const CONTAINER_COLUMNS = [
  "id",
  "name",
  "state",
  "mode",
  "netns_path",
  "owns_netns",
  "static_ip",
  "static_mac",
  "ports",
  "slirp4netns_pid",
  "port_forwarder_pid",
  "pasta_pid",
  "static_ip6",
  "exposed",
  "publish_all",
  "etc",
  "created_at",
] as const satisfies readonly (keyof ContainerRow)[];
// Every column of ContainerRow is in the key: one left out would let a record cached here hide another
// process's change of it. A column missing from the list fails tsc here, with its name as the type.
type UnkeyedColumn = Exclude<keyof ContainerRow, (typeof CONTAINER_COLUMNS)[number]>;
const allColumnsKeyed: [UnkeyedColumn] extends [never] ? true : UnkeyedColumn = true;
void allColumnsKeyed;

/** The text of a record's rows: the same for the rows as read and as about to be written. */
function rowsKey(row: ContainerRow, interfaces: readonly InterfaceRow[]): string {
  return JSON.stringify([CONTAINER_COLUMNS.map((c) => row[c]), interfaces.map((i) => [i.network, i.ifname, i.position, i.aliases, i.status, i.statics])]);
}

/** An attachment's staticIPs and staticMAC as its row's statics column: null when it asked for neither. */
function staticsColumn(a: NetworkAttachment): string | null {
  if (a.staticIPs === undefined && a.staticMAC === undefined && a.hostIfname === undefined) return null;
  return JSON.stringify({
    ...(a.staticIPs === undefined ? {} : { staticIPs: a.staticIPs }),
    ...(a.staticMAC === undefined ? {} : { staticMAC: a.staticMAC }),
    ...(a.hostIfname === undefined ? {} : { hostIfname: a.hostIfname }),
  });
}

/** The statics column's fields (the schema checks their values); only those, whatever else it holds. */
function staticsFields(parsed: unknown): { staticIPs?: unknown; staticMAC?: unknown; hostIfname?: unknown } {
  const { staticIPs, staticMAC, hostIfname } = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  return { ...(staticIPs === undefined ? {} : { staticIPs }), ...(staticMAC === undefined ? {} : { staticMAC }), ...(hostIfname === undefined ? {} : { hostIfname }) };
}

function toRow(rec: ContainerRecord): ContainerRow {
  return {
    id: rec.id,
    name: rec.name,
    state: rec.state,
    mode: JSON.stringify(rec.mode),
    netns_path: rec.netns?.path ?? null,
    owns_netns: rec.netns?.owned ? 1 : 0,
    static_ip: rec.staticIP,
    static_mac: rec.staticMAC,
    ports: JSON.stringify(rec.ports),
    slirp4netns_pid: rec.helpers.slirp4netns,
    port_forwarder_pid: rec.helpers.portForwarder,
    pasta_pid: rec.helpers.pasta,
    static_ip6: rec.staticIP6 ?? null,
    exposed: rec.exposed?.length ? JSON.stringify(rec.exposed) : null,
    publish_all: rec.publishAll ? 1 : null,
    etc: rec.etc === undefined ? null : JSON.stringify(rec.etc),
    created_at: rec.createdAt,
  };
}
