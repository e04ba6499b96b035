// The state schema, one entry per version: entry i takes a database from user_version i to i + 1, as SQL
// or, where rows must be rewritten, as a function run in the same transaction. Entries are only ever
// appended; an entry that shipped is never edited.
import type { Database } from "bun:sqlite";
import * as v from "valibot";
import { ResultCurrent } from "../schema/cni-result.ts";
import { statusFromCniResult } from "../schema/network-status.ts";

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
      const parsed = v.safeParse(ResultCurrent, JSON.parse(row.result));
      if (parsed.success) status = JSON.stringify(statusFromCniResult(parsed.output, row.ifname));
    } catch {
      // not JSON: kept, and reported as damaged when the record is read
    }
    update.run(status, row.container_id, row.network);
  }
  db.run("ALTER TABLE interfaces DROP COLUMN result");
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
];
