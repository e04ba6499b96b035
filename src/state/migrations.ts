// The state schema, one entry per version: entry i takes a database from user_version i to i + 1, as SQL
// or, where rows must be rewritten, as a function run in the same transaction. Entries are only ever
// appended; an entry that shipped is never edited.
import type { Database } from "bun:sqlite";
import * as v from "valibot";
import { cniResultSchemas } from "../schema/cni-result.ts";
import { NetworkStatus, statusFromCniResult } from "../schema/network-status.ts";
import { PortMapping } from "../schema/ports.ts";
import { heldAddressesOf, insertAddresses, insertHostPorts } from "./indexes.ts";

export type Migration = string | ((db: Database) => void);

export function applyMigration(db: Database, step: Migration): void {
  if (typeof step === "string") db.run(step);
  else step(db);
}

/**
 * Version 2: an attachment keeps its driver's NetworkStatus instead of the CNI result it came from. Stored
 * results are converted; one that does not read as a CNI result is kept as it was, so the record shows as
 * damaged rather than silently losing what was set up.
 */
function resultsToStatus(db: Database): void {
  db.run("ALTER TABLE interfaces ADD COLUMN status TEXT");
  const rows = db.query<{ container_id: string; network: string; ifname: string; result: string }, []>(
    "SELECT container_id, network, ifname, result FROM interfaces WHERE result IS NOT NULL",
  ).all();
  const update = db.query("UPDATE interfaces SET status = ? WHERE container_id = ? AND network = ?");
  for (const row of rows) {
    let status = row.result;
    try {
      const parsed = v.safeParse(cniResultSchemas().ResultCurrent, JSON.parse(row.result));
      if (parsed.success) status = JSON.stringify(statusFromCniResult(parsed.output, row.ifname));
    } catch {
      // not JSON: kept, and reported as damaged when the record is read
    }
    update.run(status, row.container_id, row.network);
  }
  db.run("ALTER TABLE interfaces DROP COLUMN result");
}

/**
 * Version 6: host_ports has a row per published host port (or range) of a record, addresses one per
 * address an interface holds (addresses.ts heldAddressesOf); both are kept by ContainerState beside the
 * columns they are read from, which stay the records' truth: a row found here is read back from its
 * record. Filled from the stored records; a value that does not read back adds no row (its record shows
 * as damaged, and is left out of lists and checks as before).
 */
function indexPortsAndAddresses(db: Database): void {
  db.run(`
    CREATE TABLE host_ports (
      container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
      protocol TEXT NOT NULL,
      host_port INTEGER NOT NULL,
      port_count INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX host_ports_by_port ON host_ports (protocol, host_port);
    CREATE INDEX host_ports_by_count ON host_ports (protocol, port_count);
    CREATE INDEX host_ports_by_container ON host_ports (container_id);
    CREATE TABLE addresses (
      container_id TEXT NOT NULL,
      network TEXT NOT NULL,
      address TEXT NOT NULL,
      FOREIGN KEY (container_id, network) REFERENCES interfaces (container_id, network) ON DELETE CASCADE
    ) STRICT;
    CREATE INDEX addresses_by_address ON addresses (network, address);
    CREATE INDEX addresses_by_interface ON addresses (container_id, network);
  `);
  const readJson = (text: string | null): unknown => {
    if (text === null) return null;
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  const containers = db.query<{ id: string; ports: string; static_ip: string | null; static_ip6: string | null }, []>("SELECT id, ports, static_ip, static_ip6 FROM containers").all();
  for (const c of containers) {
    const ports = v.safeParse(v.array(PortMapping), readJson(c.ports));
    if (ports.success) insertHostPorts(db, c.id, ports.output);
    const interfaces = db.query<{ network: string; position: number; status: string | null }, [string]>(
      "SELECT network, position, status FROM interfaces WHERE container_id = ? AND position IS NOT NULL",
    ).all(c.id);
    for (const i of interfaces) {
      const status = i.status === null ? { success: true as const, output: null } : v.safeParse(NetworkStatus, readJson(i.status));
      if (!status.success) continue;
      insertAddresses(db, c.id, i.network, heldAddressesOf(status.output, i.position === 0 ? [c.static_ip, c.static_ip6] : []));
    }
  }
}

export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE containers (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('creating', 'ready', 'removing')),
    mode TEXT NOT NULL,
    netns_path TEXT,
    owns_netns INTEGER NOT NULL CHECK (owns_netns IN (0, 1)),
    static_ip TEXT,
    static_mac TEXT,
    ports TEXT NOT NULL,
    slirp4netns_pid INTEGER,
    port_forwarder_pid INTEGER,
    created_at INTEGER NOT NULL
  ) STRICT;

  -- One row per network the container was ever given an interface for. position is the network's place
  -- among the connected ones and NULL once it is disconnected, so the row keeps its ifname reserved.
  CREATE TABLE interfaces (
    container_id TEXT NOT NULL REFERENCES containers (id) ON DELETE CASCADE,
    network TEXT NOT NULL,
    ifname TEXT NOT NULL,
    position INTEGER,
    aliases TEXT NOT NULL,
    result TEXT,
    PRIMARY KEY (container_id, network),
    UNIQUE (container_id, ifname),
    UNIQUE (container_id, position)
  ) STRICT;
  `,
  resultsToStatus,
  // Version 3: pasta, the helper of network mode pasta.
  "ALTER TABLE containers ADD COLUMN pasta_pid INTEGER",
  // Version 4: a static IPv6 address beside the IPv4 one (--ip with --ip6), and the --expose ports.
  `
  ALTER TABLE containers ADD COLUMN static_ip6 TEXT;
  ALTER TABLE containers ADD COLUMN exposed TEXT;
  `,
  // Version 5: the options of the container's /etc files, so connect and disconnect make them again.
  "ALTER TABLE containers ADD COLUMN etc TEXT",
  // Version 6: indexes of the host ports and addresses the records hold, so that a create's checks of its
  // own against them cost the same with one container as with thousands.
  indexPortsAndAddresses,
  // Version 7: what was asked for on each network (podman's per-network options), as JSON
  // {"staticIPs": [...], "staticMAC": "...", "hostIfname": "..."}; null where nothing was (the first network's of older records
  // stay in the containers' static_ip, static_ip6 and static_mac).
  "ALTER TABLE interfaces ADD COLUMN statics TEXT",
  // Version 8: whether -P/--publish-all was given (podman's HostConfig.PublishAllPorts), 1 or null.
  "ALTER TABLE containers ADD COLUMN publish_all INTEGER",
];
