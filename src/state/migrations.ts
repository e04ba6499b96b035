// The state schema, one entry per version: entry i takes a database from user_version i to i + 1.
// Entries are only ever appended; an entry that shipped is never edited.
export const MIGRATIONS: readonly string[] = [
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
];
