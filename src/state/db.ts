// The state database: where it lives, how it is opened, and the one way to write to it.
import { Database } from "bun:sqlite";
import { closeSync, constants, mkdirSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { CtrnetError } from "../errors.ts";
import { hostUid } from "../identity.ts";
import { MIGRATIONS } from "./migrations.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface StateLocation {
  /** The runtime directory; defaults to $CTRNET_ROOT, then /run/ctrnet (root) or $XDG_RUNTIME_DIR/ctrnet. */
  root?: string;
  env?: Env;
  uid?: number;
}

/**
 * Runtime state lives on tmpfs (/run, $XDG_RUNTIME_DIR), so a reboot, which also drops every netns and
 * helper process, drops the records that described them.
 */
export function runtimeDir({ root, env = process.env, uid = hostUid() }: StateLocation = {}): string {
  if (root) return root;
  if (env.CTRNET_ROOT) return env.CTRNET_ROOT;
  if (uid === 0) return "/run/ctrnet";
  return join(env.XDG_RUNTIME_DIR || `/run/user/${uid}`, "ctrnet");
}

/**
 * Long enough for any other ctrnet process to finish its transaction (milliseconds each), short enough
 * that a stuck one is reported rather than waited on forever.
 */
const BUSY_TIMEOUT_MS = 15_000;

export function databasePath(dir: string): string {
  return join(dir, "state.db");
}

export function openDatabase(path: string): Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database file's mode.
  closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600));
  const db = new Database(path, { strict: true });
  try {
    // busy_timeout first: switching to WAL on a new database takes a lock another process may hold.
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // The journal mode and the schema version live in the file, so only a new or older database is written
    // to here: every other open is spared the write lock these take (about 0.5 ms of a new process).
    if (pragma<{ journal_mode: string }>(db, "journal_mode").journal_mode !== "wal") db.run("PRAGMA journal_mode = WAL");
    db.run("PRAGMA synchronous = NORMAL");
    db.run("PRAGMA foreign_keys = ON");
    if (userVersion(db) !== MIGRATIONS.length) migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function pragma<Row>(db: Database, name: string): Row {
  return db.query<Row, []>(`PRAGMA ${name}`).get()!;
}

const userVersion = (db: Database): number => pragma<{ user_version: number }>(db, "user_version").user_version;

function migrate(db: Database, path: string): void {
  writeTransaction(db, path, () => {
    // Read again inside the write lock: two processes opening a new database must not both apply a migration.
    const version = userVersion(db);
    if (version > MIGRATIONS.length) {
      throw new CtrnetError(
        `state database ${path} has schema version ${version}, newer than this ctrnet knows (${MIGRATIONS.length}); use a newer ctrnet`,
      );
    }
    for (let v = version; v < MIGRATIONS.length; v++) {
      const step = MIGRATIONS[v]!;
      if (typeof step === "string") db.run(step);
      else step(db);
    }
    if (version !== MIGRATIONS.length) db.run(`PRAGMA user_version = ${MIGRATIONS.length}`);
  });
}

function isBusy(err: unknown): boolean {
  return err instanceof Error && "code" in err && err.code === "SQLITE_BUSY";
}

/**
 * Runs fn in a transaction that takes the write lock at BEGIN (IMMEDIATE), so a read-then-write inside fn
 * can't interleave with another process's; nested calls become savepoints. fn must be synchronous: an
 * await would hold the lock across unrelated work, and SQLite would commit before the promise settles.
 */
export function writeTransaction<T>(db: Database, path: string, fn: () => T): T {
  try {
    return db
      .transaction(() => {
        const result = fn();
        if (result instanceof Promise) throw new TypeError("a state transaction must be synchronous");
        return result;
      })
      .immediate();
  } catch (err) {
    if (isBusy(err)) {
      throw new CtrnetError(`state database ${path} stayed locked by another process for ${BUSY_TIMEOUT_MS / 1000} s`, { cause: err });
    }
    throw err;
  }
}
