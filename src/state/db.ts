// The state database: where it lives, how it is opened, and the one way to write to it.
import { Database } from "bun:sqlite";
import { closeSync, constants, existsSync, fstatSync, linkSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync } from "../../ffi/fs.ts";
import { dirname, join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { CtrnetError, errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { writeFileAtomic } from "./atomic-file.ts";
import { applyMigration, MIGRATIONS } from "./migrations.ts";

export { runtimeDir, type StateLocation } from "./runtime-dir.ts";

/**
 * Long enough for any other ctrnet process to finish its transaction (milliseconds each), short enough
 * that a stuck one is reported rather than waited on forever.
 */
const BUSY_TIMEOUT_MS = 15_000;

export function databasePath(dir: string): string {
  return join(dir, "state.db");
}

let readOnly = false;

/**
 * For a process that only reads state (`ls`, `inspect`, …): a database that does not exist is not made,
 * nor its directory; the process sees an empty one.
 */
export function onlyReadState(): void {
  readOnly = true;
}

/**
 * Fills a database made to replace a damaged one with what can be learnt from the system, before it is
 * linked into place; returns what it did, in words, for the one line that reports the damage.
 */
export type Rebuild = (db: Database, path: string) => string;

/**
 * Opens the database at path, making it (and its directory) when missing. A damaged one (see openExisting)
 * is moved aside and a new one started, filled by rebuild if given, saying so in one line, rather than
 * every command, gc included, failing on it; what the lost records described and rebuild could not match
 * is left for `ctrnet gc`.
 */
export function openDatabase(path: string, rebuild?: Rebuild): Database {
  let replaced = false;
  for (;;) {
    if (!existsSync(path)) {
      if (readOnly) return emptyDatabase();
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      withDirectoryLock(path, () => createDatabase(path));
    }
    const found = openExisting(path);
    if (found instanceof Database) return found;
    // gone since the existence check: another process set it aside, and this one makes or finds the new one
    if (found === undefined) continue;
    // A second damaged file in a row is not a file to replace again but something wrong with the place.
    if (replaced) throw new CtrnetError(`state database ${path} is damaged again right after being replaced: ${found.reason}`);
    replace(path, found, rebuild);
    replaced = true;
  }
}

interface Damage {
  ino: number;
  reason: string;
}

const HEADER = Buffer.from("SQLite format 3\0", "latin1");

/**
 * Opens a database file, or says how it is damaged (undefined: there is no file any more). A header check catches a file cut to nothing or
 * overwritten from the start; quick_check reads every page and catches one damaged further in, which SQLite
 * would otherwise report only when a query touches it, failing that command and every later one. It grows
 * with the file (0.7 ms of every command's open at 1,000 containers, and of each round of the supervisor a
 * create waits for), so it runs only when the file is not the one the last check passed or a ctrnet that
 * trusted it left (see checkedMark): in WAL mode SQLite writes the file itself only at checkpoints, so
 * another writer (a scribble, a copy over it) changes what the mark names.
 */
function openExisting(path: string): Database | Damage | undefined {
  let ino: number;
  let db: Database;
  try {
    ino = statSync(path).ino;
    const header = headerDamage(path);
    if (header) return { ino, reason: header };
    db = new Database(path, { strict: true, readwrite: true, create: false });
  } catch (err) {
    if (!existsSync(path)) return undefined;
    throw err;
  }
  try {
    // busy_timeout first: switching to WAL on a new database takes a lock another process may hold. The
    // connection's settings in one call: each statement is a prepare of its own.
    db.run(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON`);
    const file = fileSignature(path);
    if (readCheckedMark(path) !== file) {
      const check = db.query<{ quick_check: string }, []>("PRAGMA quick_check(1)").get()?.quick_check;
      if (check !== "ok") {
        db.close();
        return { ino, reason: `quick_check: ${check}` };
      }
      writeCheckedMark(path, file);
    }
    trusted.add(db);
    // The journal mode and the schema version live in the file, so only a new or older database is written
    // to here: every other open is spared the write lock these take (about 0.5 ms of a new process). Both
    // read in one statement.
    const found = db
      .query<{ journal: string; version: number }, []>("SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal, (SELECT user_version FROM pragma_user_version) AS version")
      .get()!;
    if (found.journal !== "wal") db.run("PRAGMA journal_mode = WAL");
    if (found.version !== MIGRATIONS.length) migrate(db, path);
    return db;
  } catch (err) {
    db.close();
    if (isCorrupt(err)) return { ino, reason: errorMessage(err) };
    throw err;
  }
}

/** Databases this process found sound when it opened them. */
const trusted = new WeakSet<Database>();

/** What changes whenever anything writes the file: its inode, size, and modification and change times (ns). */
function fileSignature(path: string): string {
  const st = statSync(path, { bigint: true });
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** Beside the database: the signature of the file as last found sound (checked, or left so by a ctrnet that trusted it). */
function checkedMarkPath(path: string): string {
  return `${path}.checked`;
}

function readCheckedMark(path: string): string | undefined {
  try {
    return readFileSync(checkedMarkPath(path), "utf8");
  } catch {
    return undefined;
  }
}

/** Only a hint: a mark that cannot be written means a check at the next open. */
function writeCheckedMark(path: string, signature: string): void {
  try {
    writeFileAtomic(checkedMarkPath(path), signature);
  } catch (err) {
    log.debug(`state database ${path}: its check was not noted: ${errorMessage(err)}`);
  }
}

/**
 * Closes a database openDatabase opened. SQLite checkpoints the WAL into the file as its last connection
 * closes, and any connection may do so while it writes: the file this process leaves is sound if it was
 * sound when opened, so its mark is brought up to date rather than costing the next open a whole check.
 */
export function closeDatabase(db: Database, path: string): void {
  db.close();
  if (!trusted.has(db)) return;
  let file: string;
  try {
    file = fileSignature(path);
  } catch {
    return;
  }
  if (readCheckedMark(path) !== file) writeCheckedMark(path, file);
}

function headerDamage(path: string): string | undefined {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return "it is empty";
    const header = Buffer.alloc(100);
    const got = readSync(fd, header, 0, header.length, 0);
    if (got < header.length || !header.subarray(0, HEADER.length).equals(HEADER)) return "it does not start with a SQLite header";
    const raw = header.readUInt16BE(16);
    const pageSize = raw === 1 ? 65536 : raw;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return `its header gives a page size of ${raw}`;
    if (size % pageSize !== 0) return `its size, ${size} bytes, is not a whole number of ${pageSize}-byte pages`;
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function isCorrupt(err: unknown): boolean {
  const code = err instanceof Error && "code" in err ? String(err.code) : "";
  return code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB";
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && "code" in err && err.code === code;
}

/** What a reader of a database that does not exist sees: the schema, no rows. */
function emptyDatabase(): Database {
  const db = new Database(":memory:", { strict: true });
  for (const m of MIGRATIONS) applyMigration(db, m);
  return db;
}

/**
 * Made complete (and filled, if fill is given) under a name of its own, then linked into place: a file at
 * path is never a database in the making, so an empty one there is a damaged one. Called under the
 * directory's lock: a process that finds no database waits while another replaces a damaged one, and then
 * finds the replacement rather than linking an empty one in its place.
 */
function createDatabase(path: string, fill?: (db: Database, temp: string) => void): void {
  const temp = `${path}.new-${process.pid}-${Buffer.from(crypto.getRandomValues(new Uint8Array(4))).toString("hex")}`;
  // Created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database file's mode.
  closeSync(openSync(temp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
  try {
    const db = new Database(temp, { strict: true });
    try {
      db.run("PRAGMA journal_mode = WAL");
      migrate(db, temp);
      fill?.(db, temp);
      // everything into the main file: the WAL stays behind with the temporary name
      db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } finally {
      db.close();
    }
    try {
      linkSync(temp, path);
    } catch (err) {
      if (!isErrno(err, "EEXIST")) throw err;
    }
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${temp}${suffix}`, { force: true });
  }
}

function withDirectoryLock<T>(path: string, fn: () => T): T {
  const dirFd = libc.open(dirname(path), libc.O_RDONLY | libc.O_DIRECTORY);
  try {
    libc.flock(dirFd, libc.LOCK_EX);
    return fn();
  } finally {
    libc.close(dirFd);
  }
}

/**
 * Renames the damaged file (and its WAL, which must not meet the new database) to
 * `state.db.corrupt-TIME` and puts a new one, rebuilt, in its place, under a lock on the directory, and
 * only if path is still the file found damaged: a process that found the same file damaged a moment
 * later must not set aside the new one.
 */
function replace(path: string, damage: Damage, rebuild: Rebuild | undefined): void {
  withDirectoryLock(path, () => {
    let ino: number;
    try {
      ino = statSync(path).ino;
    } catch (err) {
      if (isErrno(err, "ENOENT")) return;
      throw err;
    }
    if (ino !== damage.ino) return;
    const aside = `${path}.corrupt-${new Date().toISOString().replaceAll(":", "-")}`;
    renameSync(path, aside);
    rmSync(checkedMarkPath(path), { force: true });
    for (const suffix of ["-wal", "-shm"]) {
      try {
        renameSync(`${path}${suffix}`, `${aside}${suffix}`);
      } catch (err) {
        if (!isErrno(err, "ENOENT")) throw err;
      }
    }
    let rebuilt = "";
    createDatabase(path, (db, temp) => {
      if (!rebuild) return;
      try {
        rebuilt = `; ${rebuild(db, temp)}`;
      } catch (err) {
        rebuilt = `; rebuilding its records failed: ${errorMessage(err)}`;
      }
    });
    log.warn(`state database ${path} is damaged (${damage.reason}): moved it to ${aside} and started a new one${rebuilt}; run ctrnet gc to remove what its other containers left`);
  });
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
    for (let v = version; v < MIGRATIONS.length; v++) applyMigration(db, MIGRATIONS[v]!);
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
