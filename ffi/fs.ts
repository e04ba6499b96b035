// node:fs as ctrnet uses it, over libc: every module of src/ and ffi/ imports its file functions from here.
// Loading Bun's node:fs costs about 0.7 ms of a command's start (a compiled program that only imports it
// starts that much later, measured), more than a create's own file calls take. Each function does the
// common case itself (the argument shapes ctrnet passes, success, and the failures callers expect: a missing
// or existing file, a directory not empty, with the errors Bun's node:fs throws for them); anything else
// (another option, another failure) is handed to the real node:fs, loaded then, which does the call again
// and answers or throws exactly as it would have. test/unit/fs.test.ts holds these against node:fs.
import { CString, read as peek, type Pointer } from "bun:ffi";
import { cstr, fileCalls as sys, lastErrno } from "./libc.ts";

type NodeFs = typeof import("node:fs");
let real: NodeFs | undefined;

/** The real node:fs, for what is not done here. CTRNET_TRACE_PHASES says which call loaded it. */
function node(why: string): NodeFs {
  if (real) return real;
  if (process.env.CTRNET_TRACE_PHASES) writeAll(2, Buffer.from(`ctrnet: node:fs loaded by ${why}\n`));
  real = require("node:fs") as NodeFs;
  return real;
}

const ENOENT = 2;
const EEXIST = 17;
const EINTR = 4;
const ENOTEMPTY = 39;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
const STATX_TYPE = 0x1;
const STATX_BASIC_STATS = 0x7ff;
const STATX_BTIME = 0x800;

const CONSTANTS = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_NOCTTY: 0o400,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  O_NONBLOCK: 0o4000,
  O_DIRECTORY: 0o200000,
  O_NOFOLLOW: 0o400000,
  O_CLOEXEC: 0o2000000,
  F_OK: 0,
  R_OK: 4,
  W_OK: 2,
  X_OK: 1,
  S_IFMT: 0o170000,
  S_IFREG: 0o100000,
  S_IFDIR: 0o40000,
  S_IFLNK: 0o120000,
  S_IFSOCK: 0o140000,
  S_IFIFO: 0o10000,
  S_IFCHR: 0o20000,
  S_IFBLK: 0o60000,
} as const;

/** The fs.constants ctrnet reads (Linux values, x86_64 and aarch64 alike). */
export const constants = CONSTANTS as unknown as NodeFs["constants"];

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_CLOEXEC } = CONSTANTS;

/** Bun's words for the failures reported here; any other is node:fs's to report. */
const DESCRIPTIONS: Record<number, [string, string]> = {
  [ENOENT]: ["ENOENT", "no such file or directory"],
  [EEXIST]: ["EEXIST", "file already exists"],
  [ENOTEMPTY]: ["ENOTEMPTY", "directory not empty"],
};

/**
 * The error Bun's node:fs throws: `ENOENT: no such file or directory, open '/x'`, with code, errno, syscall,
 * path (and `-> 'dest'`, dest for a call with two paths).
 */
function sysError(errno: number, syscall: string, path: string, dest?: string): Error {
  const [code, description] = DESCRIPTIONS[errno]!;
  const message = `${code}: ${description}, ${syscall} '${path}'${dest === undefined ? "" : ` -> '${dest}'`}`;
  return Object.assign(new Error(message), { code, errno: -errno, syscall, path }, dest === undefined ? {} : { dest });
}

/** A path done here: a string without a NUL (node:fs refuses one; as a C string it would name a prefix). */
function plain(path: unknown): path is string {
  return typeof path === "string" && !path.includes("\0");
}

/** Writes until done or failed; how many bytes were written. */
function writeAll(fd: number, bytes: Uint8Array): number {
  let off = 0;
  while (off < bytes.length) {
    const n = Number(sys.write(fd, bytes.subarray(off), bytes.length - off));
    if (n < 0) {
      if (lastErrno() === EINTR) continue;
      break;
    }
    off += n;
  }
  return off;
}

/** Flags as node:fs takes them by name; undefined for one not known here. */
function openFlags(flags: string | number | undefined): number | undefined {
  if (typeof flags === "number") return flags;
  switch (flags ?? "r") {
    case "r":
      return O_RDONLY;
    case "r+":
      return O_RDWR;
    case "w":
      return O_WRONLY | O_CREAT | O_TRUNC;
    case "wx":
    case "xw":
      return O_WRONLY | O_CREAT | O_TRUNC | O_EXCL;
    case "w+":
      return O_RDWR | O_CREAT | O_TRUNC;
    case "a":
      return O_WRONLY | O_CREAT | O_APPEND;
    default:
      return undefined;
  }
}

function isUtf8(encoding: unknown): boolean {
  return encoding === "utf8" || encoding === "utf-8";
}

type ReadOptions = BufferEncoding | { encoding?: BufferEncoding | null; flag?: string } | null | undefined;

function readFileSyncImpl(path: string | number, options?: ReadOptions): string | Buffer {
  const encoding = typeof options === "string" ? options : options?.encoding;
  const flag = typeof options === "object" && options !== null ? options.flag : undefined;
  if (!plain(path) || (encoding != null && !isUtf8(encoding)) || (flag !== undefined && flag !== "r")) {
    return node("readFileSync").readFileSync(path, options as never);
  }
  const fd = sys.open(cstr(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    const errno = lastErrno();
    if (errno === ENOENT) throw sysError(errno, "open", path);
    return node("readFileSync").readFileSync(path, options as never);
  }
  let buf = Buffer.allocUnsafeSlow(4096);
  let length = 0;
  try {
    for (;;) {
      if (length === buf.length) {
        const bigger = Buffer.allocUnsafeSlow(buf.length * 4);
        bigger.set(buf);
        buf = bigger;
      }
      const n = Number(sys.read(fd, buf.subarray(length), buf.length - length));
      if (n === 0) break;
      if (n < 0) {
        if (lastErrno() === EINTR) continue;
        return node("readFileSync").readFileSync(path, options as never);
      }
      length += n;
    }
  } finally {
    sys.close(fd);
  }
  return encoding != null ? buf.toString("utf8", 0, length) : Buffer.from(buf.subarray(0, length));
}

type WriteOptions = BufferEncoding | { mode?: number; flag?: string; encoding?: BufferEncoding | null } | null | undefined;

function writeFileSyncImpl(path: string | number, data: string | NodeJS.ArrayBufferView, options?: WriteOptions): void {
  const opts = typeof options === "string" ? { encoding: options } : (options ?? {});
  const flags = openFlags(opts.flag ?? "w");
  const simple = typeof data === "string" ? opts.encoding == null || isUtf8(opts.encoding) : data instanceof Uint8Array;
  // to a descriptor: at its offset, left open
  if (typeof path === "number" && simple && Number.isInteger(path) && path >= 0) {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : (data as Uint8Array);
    const written = writeAll(path, bytes);
    if (written === bytes.length) return;
    return node("writeFileSync").writeFileSync(path, bytes.subarray(written));
  }
  if (!plain(path) || flags === undefined || !simple) return node("writeFileSync").writeFileSync(path, data, options as never);
  const fd = sys.open(cstr(path), flags | O_CLOEXEC, opts.mode ?? 0o666);
  if (fd < 0) {
    const errno = lastErrno();
    if (errno === ENOENT || errno === EEXIST) throw sysError(errno, "open", path);
    return node("writeFileSync").writeFileSync(path, data, options as never);
  }
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : (data as Uint8Array);
  let failed: boolean;
  try {
    failed = writeAll(fd, bytes) < bytes.length;
  } finally {
    sys.close(fd);
  }
  // the file is there now: an exclusive create done again would only find it
  if (failed) node("writeFileSync").writeFileSync(path, data, { ...opts, flag: opts.flag === "a" ? "a" : "w" } as never);
}

function existsSyncImpl(path: string): boolean {
  if (!plain(path)) return node("existsSync").existsSync(path);
  return sys.access(cstr(path), CONSTANTS.F_OK) === 0;
}

function accessSyncImpl(path: string, mode: number = CONSTANTS.F_OK): void {
  if (plain(path) && sys.access(cstr(path), mode) === 0) return;
  node("accessSync").accessSync(path, mode);
}

/** The parent of an absolute path as mkdir -p walks it, or undefined for a path to hand to node:fs. */
function parentOf(path: string): string | undefined {
  if (!path.startsWith("/") || path.endsWith("/") || path.includes("//") || path.includes("/./") || path.includes("/../") || path.endsWith("/.") || path.endsWith("/..")) {
    return undefined;
  }
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? undefined : path.slice(0, slash);
}

function mkdirSyncImpl(path: string, options?: { recursive?: boolean; mode?: number } | number): string | undefined {
  const opts = typeof options === "number" ? { mode: options } : (options ?? {});
  const mode = opts.mode ?? 0o777;
  if (!plain(path) || (opts.recursive && parentOf(path) === undefined)) return node("mkdirSync").mkdirSync(path, options as never);
  if (sys.mkdir(cstr(path), mode) === 0) return opts.recursive ? path : undefined;
  const errno = lastErrno();
  if (!opts.recursive) {
    if (errno === ENOENT || errno === EEXIST) throw sysError(errno, "mkdir", path);
    return node("mkdirSync").mkdirSync(path, options as never) as undefined;
  }
  if (errno === EEXIST && kindOf(path, 0) === CONSTANTS.S_IFDIR) return undefined;
  if (errno === ENOENT) {
    const parent = parentOf(path)!;
    const first = mkdirSyncImpl(parent, { recursive: true, mode });
    if (sys.mkdir(cstr(path), mode) === 0) return first ?? path;
    if (lastErrno() === EEXIST && kindOf(path, 0) === CONSTANTS.S_IFDIR) return first;
  }
  return node("mkdirSync").mkdirSync(path, options as never);
}

/** struct statx of a path (or of fd with AT_EMPTY_PATH), or undefined with errno left for lastErrno. */
function statx(fd: number, path: string, flags: number, mask: number): Uint8Array | undefined {
  const buf = new Uint8Array(256);
  return sys.statx(fd, cstr(path), flags, mask, buf) === 0 ? buf : undefined;
}

/** The S_IFMT bits of what the path names (following a last symlink unless flags say not), or undefined. */
function kindOf(path: string, flags: number): number | undefined {
  const buf = statx(AT_FDCWD, path, flags, STATX_TYPE);
  return buf && (buf[28]! | (buf[29]! << 8)) & CONSTANTS.S_IFMT;
}

function rmSyncImpl(path: string, options?: { force?: boolean; recursive?: boolean }): void {
  if (!plain(path)) return node("rmSync").rmSync(path, options);
  const c = cstr(path);
  if (sys.unlink(c) === 0) return;
  const errno = lastErrno();
  if (errno === ENOENT && options?.force) return;
  if (options?.recursive && kindOf(path, AT_SYMLINK_NOFOLLOW) === CONSTANTS.S_IFDIR && removeTree(path)) return;
  node("rmSync").rmSync(path, options);
}

/** rm -r of a directory; false when anything failed (node:fs then finishes it or says why). */
function removeTree(dir: string): boolean {
  const names = listNames(dir);
  if (names === undefined) return false;
  for (const name of names) {
    const entry = `${dir}/${name}`;
    if (sys.unlink(cstr(entry)) === 0 || lastErrno() === ENOENT) continue;
    if (kindOf(entry, AT_SYMLINK_NOFOLLOW) !== CONSTANTS.S_IFDIR || !removeTree(entry)) return false;
  }
  return sys.rmdir(cstr(dir)) === 0 || lastErrno() === ENOENT;
}

function unlinkSyncImpl(path: string): void {
  if (plain(path)) {
    if (sys.unlink(cstr(path)) === 0) return;
    if (lastErrno() === ENOENT) throw sysError(ENOENT, "unlink", path);
  }
  node("unlinkSync").unlinkSync(path);
}

function rmdirSyncImpl(path: string): void {
  if (plain(path)) {
    if (sys.rmdir(cstr(path)) === 0) return;
    const errno = lastErrno();
    if (errno === ENOENT || errno === ENOTEMPTY) throw sysError(errno, "rmdir", path);
  }
  node("rmdirSync").rmdirSync(path);
}

function renameSyncImpl(from: string, to: string): void {
  if (plain(from) && plain(to) && sys.rename(cstr(from), cstr(to)) === 0) return;
  node("renameSync").renameSync(from, to);
}

function linkSyncImpl(existing: string, created: string): void {
  if (plain(existing) && plain(created)) {
    if (sys.link(cstr(existing), cstr(created)) === 0) return;
    const errno = lastErrno();
    if (errno === ENOENT || errno === EEXIST) throw sysError(errno, "link", existing, created);
  }
  node("linkSync").linkSync(existing, created);
}

function chmodSyncImpl(path: string, mode: number): void {
  if (plain(path) && typeof mode === "number" && sys.chmod(cstr(path), mode) === 0) return;
  node("chmodSync").chmodSync(path, mode);
}

function fsyncSyncImpl(fd: number): void {
  if (sys.fsync(fd) === 0) return;
  node("fsyncSync").fsyncSync(fd);
}

function openSyncImpl(path: string, flags?: string | number, mode?: number): number {
  const f = openFlags(flags);
  if (!plain(path) || f === undefined) return node("openSync").openSync(path, flags as never, mode);
  const fd = sys.open(cstr(path), f | O_CLOEXEC, mode ?? 0o666);
  if (fd >= 0) return fd;
  const errno = lastErrno();
  if (errno === ENOENT || errno === EEXIST) throw sysError(errno, "open", path);
  return node("openSync").openSync(path, flags as never, mode);
}

function closeSyncImpl(fd: number): void {
  if (sys.close(fd) === 0) return;
  node("closeSync").closeSync(fd);
}

function writeSyncImpl(fd: number, data: string | Uint8Array, offset?: number | null, length?: number | null, position?: number | null): number {
  if (typeof data === "string" ? offset != null : position != null || !(data instanceof Uint8Array)) {
    return node("writeSync").writeSync(fd, data as never, offset as never, length as never, position as never);
  }
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data.subarray(offset ?? 0, length == null ? undefined : (offset ?? 0) + length);
  if (bytes.length === 0) return 0;
  for (;;) {
    const n = Number(sys.write(fd, bytes, bytes.length));
    if (n >= 0) return n;
    if (lastErrno() !== EINTR) return node("writeSync").writeSync(fd, bytes);
  }
}

function readSyncImpl(fd: number, buffer: Uint8Array, offset = 0, length = buffer.length - offset, position: number | bigint | null = null): number {
  if (length === 0) return 0;
  const view = buffer.subarray(offset, offset + length);
  for (;;) {
    const n = Number(position == null ? sys.read(fd, view, length) : sys.pread(fd, view, length, Number(position)));
    if (n >= 0) return n;
    if (lastErrno() !== EINTR) return node("readSync").readSync(fd, buffer, offset, length, position);
  }
}

const S = CONSTANTS;

/** node:fs's isFile, isDirectory, … of Stats and Dirent, from the S_IFMT bits of what they describe. */
abstract class FileType {
  protected abstract type(): number;
  isFile(): boolean {
    return this.type() === S.S_IFREG;
  }
  isDirectory(): boolean {
    return this.type() === S.S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return this.type() === S.S_IFLNK;
  }
  isSocket(): boolean {
    return this.type() === S.S_IFSOCK;
  }
  isFIFO(): boolean {
    return this.type() === S.S_IFIFO;
  }
  isCharacterDevice(): boolean {
    return this.type() === S.S_IFCHR;
  }
  isBlockDevice(): boolean {
    return this.type() === S.S_IFBLK;
  }
}

/** What statSync and its kin return: node:fs's Stats fields and predicates, from statx(2). */
class FileStats<T extends number | bigint> extends FileType {
  declare dev: T;
  declare ino: T;
  declare mode: T;
  declare nlink: T;
  declare uid: T;
  declare gid: T;
  declare rdev: T;
  declare size: T;
  declare blksize: T;
  declare blocks: T;
  declare atimeMs: T;
  declare mtimeMs: T;
  declare ctimeMs: T;
  declare birthtimeMs: T;
  declare atimeNs?: bigint;
  declare mtimeNs?: bigint;
  declare ctimeNs?: bigint;
  declare birthtimeNs?: bigint;
  declare atime: Date;
  declare mtime: Date;
  declare ctime: Date;
  declare birthtime: Date;
  protected type(): number {
    return Number(this.mode) & S.S_IFMT;
  }
}

/** glibc's makedev. */
function makedev(major: bigint, minor: bigint): bigint {
  return ((major & 0xfffff000n) << 32n) | ((major & 0xfffn) << 8n) | ((minor & 0xffffff00n) << 12n) | (minor & 0xffn);
}

function statsOf(buf: Uint8Array, bigint: boolean): FileStats<number | bigint> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u64 = (at: number) => v.getBigUint64(at, true);
  const time = (at: number): [bigint, number] => [v.getBigInt64(at, true), v.getUint32(at + 8, true)];
  const st = new FileStats<number | bigint>();
  const ints: [keyof FileStats<number>, bigint][] = [
    ["dev", makedev(BigInt(v.getUint32(136, true)), BigInt(v.getUint32(140, true)))],
    ["ino", u64(32)],
    ["mode", BigInt(v.getUint16(28, true))],
    ["nlink", BigInt(v.getUint32(16, true))],
    ["uid", BigInt(v.getUint32(20, true))],
    ["gid", BigInt(v.getUint32(24, true))],
    ["rdev", makedev(BigInt(v.getUint32(128, true)), BigInt(v.getUint32(132, true)))],
    ["size", u64(40)],
    ["blksize", BigInt(v.getUint32(4, true))],
    ["blocks", u64(48)],
  ];
  for (const [k, n] of ints) (st as unknown as Record<string, number | bigint>)[k] = bigint ? n : Number(n);
  for (const [name, at] of [["atime", 64], ["birthtime", 80], ["ctime", 96], ["mtime", 112]] as const) {
    const [sec, nsec] = time(at);
    const ms = Number(sec) * 1000 + nsec / 1e6;
    const rec = st as unknown as Record<string, number | bigint | Date>;
    rec[`${name}Ms`] = bigint ? sec * 1000n + BigInt(Math.floor(nsec / 1e6)) : ms;
    if (bigint) rec[`${name}Ns`] = sec * 1_000_000_000n + BigInt(nsec);
    rec[name] = new Date(bigint ? Number(sec * 1000n + BigInt(Math.floor(nsec / 1e6))) : ms);
  }
  return st;
}

type StatOptions = { bigint?: boolean; throwIfNoEntry?: boolean };

function statAt(syscall: string, fd: number, path: string, flags: number, options: StatOptions | undefined, retry: () => unknown): unknown {
  const buf = statx(fd, path, flags, STATX_BASIC_STATS | STATX_BTIME);
  if (buf) return statsOf(buf, options?.bigint === true);
  if (lastErrno() === ENOENT && fd === AT_FDCWD) {
    if (options?.throwIfNoEntry === false) return undefined;
    throw sysError(ENOENT, syscall, path);
  }
  return retry();
}

function statSyncImpl(path: string, options?: StatOptions): unknown {
  if (!plain(path)) return node("statSync").statSync(path, options);
  return statAt("stat", AT_FDCWD, path, 0, options, () => node("statSync").statSync(path, options));
}

function lstatSyncImpl(path: string, options?: StatOptions): FileStats<number> {
  if (!plain(path)) return node("lstatSync").lstatSync(path, options) as never;
  return statAt("lstat", AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, options, () => node("lstatSync").lstatSync(path, options)) as FileStats<number>;
}

function fstatSyncImpl(fd: number, options?: StatOptions): FileStats<number> {
  return statAt("fstat", fd, "", AT_EMPTY_PATH, options, () => node("fstatSync").fstatSync(fd, options)) as FileStats<number>;
}

/** The entries of a directory in the order the kernel gives them, without . and ..; undefined when it cannot be opened. */
function listEntries(dir: string): { name: string; type: number }[] | undefined {
  const handle = sys.opendir(cstr(dir));
  if (handle === null) return undefined;
  const entries: { name: string; type: number }[] = [];
  try {
    for (let entry = sys.readdir(handle); entry !== null; entry = sys.readdir(handle)) {
      // struct dirent: d_ino, d_off (8 bytes each), d_reclen (2), d_type (1), then d_name
      const name = new CString((Number(entry) + 19) as Pointer).toString();
      if (name !== "." && name !== "..") entries.push({ name, type: peek.u8(entry, 18) });
    }
  } finally {
    sys.closedir(handle);
  }
  return entries;
}

function listNames(dir: string): string[] | undefined {
  return listEntries(dir)?.map((e) => e.name);
}

const DT_UNKNOWN = 0;
/** d_type to the S_IFMT bits it stands for (DT_x is S_IFx >> 12). */
const dtMode = (type: number): number => type << 12;

/** readdirSync's withFileTypes entries: node:fs's Dirent fields and predicates. */
class DirEntry extends FileType {
  constructor(
    readonly name: string,
    readonly parentPath: string,
    private readonly mode: number,
  ) {
    super();
  }
  get path(): string {
    return this.parentPath;
  }
  protected type(): number {
    return this.mode;
  }
}

function readdirSyncImpl(path: string, options?: { withFileTypes?: boolean; encoding?: string }): (string | DirEntry)[] {
  const types = options?.withFileTypes === true;
  const simple = options === undefined || (typeof options === "object" && Object.keys(options).every((k) => k === "withFileTypes" || (k === "encoding" && isUtf8(options.encoding))));
  if (!plain(path) || !simple) return node("readdirSync").readdirSync(path, options as never) as string[];
  const entries = listEntries(path);
  if (entries === undefined) {
    if (lastErrno() === ENOENT) throw sysError(ENOENT, "scandir", path);
    return node("readdirSync").readdirSync(path, options as never) as string[];
  }
  if (!types) return entries.map((e) => e.name);
  return entries.map((e) => new DirEntry(e.name, path, e.type === DT_UNKNOWN ? (kindOf(`${path}/${e.name}`, AT_SYMLINK_NOFOLLOW) ?? 0) : dtMode(e.type)));
}

function readlinkSyncImpl(path: string, options?: unknown): string {
  if (plain(path) && options === undefined) {
    const buf = Buffer.allocUnsafeSlow(4096);
    const n = Number(sys.readlink(cstr(path), buf, buf.length));
    if (n >= 0 && n < buf.length) return buf.toString("utf8", 0, n);
    if (n < 0 && lastErrno() === ENOENT) throw sysError(ENOENT, "readlink", path);
  }
  return node("readlinkSync").readlinkSync(path, options as never) as string;
}

/** statfs(2) as node:fs's StatFs (numbers), for the file system type of a path. */
function statfsSyncImpl(path: string, options?: unknown): unknown {
  if (plain(path) && options === undefined) {
    const st = new BigInt64Array(15); // struct statfs: 120 bytes of longs on 64-bit Linux
    if (sys.statfs(cstr(path), st) === 0) {
      // f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_fsid, f_namelen, f_frsize
      const [type, bsize, blocks, bfree, bavail, files, ffree] = Array.from(st.subarray(0, 7), Number);
      return { type, bsize, frsize: Number(st[9]), blocks, bfree, bavail, files, ffree };
    }
    if (lastErrno() === ENOENT) throw sysError(ENOENT, "statfs", path);
  }
  return node("statfsSync").statfsSync(path, options as never);
}

/** A function of node:fs that is called as it is: rarely, and never by an attach or detach. */
function handedOver<K extends "realpathSync" | "symlinkSync" | "copyFileSync" | "chownSync">(name: K): NodeFs[K] {
  return ((...args: unknown[]) => (node(name)[name] as (...a: unknown[]) => unknown)(...args)) as NodeFs[K];
}

export const realpathSync = handedOver("realpathSync");
export const symlinkSync = handedOver("symlinkSync");
export const copyFileSync = handedOver("copyFileSync");
export const chownSync = handedOver("chownSync");
export type { Dirent, Stats } from "node:fs";

// Exported with node:fs's own declarations: every caller type-checks as it did against node:fs.
export const readFileSync: NodeFs["readFileSync"] = readFileSyncImpl as never;
export const writeFileSync: NodeFs["writeFileSync"] = writeFileSyncImpl as never;
export const existsSync: NodeFs["existsSync"] = existsSyncImpl as never;
export const accessSync: NodeFs["accessSync"] = accessSyncImpl as never;
export const mkdirSync: NodeFs["mkdirSync"] = mkdirSyncImpl as never;
export const rmSync: NodeFs["rmSync"] = rmSyncImpl as never;
export const unlinkSync: NodeFs["unlinkSync"] = unlinkSyncImpl as never;
export const rmdirSync: NodeFs["rmdirSync"] = rmdirSyncImpl as never;
export const renameSync: NodeFs["renameSync"] = renameSyncImpl as never;
export const chmodSync: NodeFs["chmodSync"] = chmodSyncImpl as never;
export const fsyncSync: NodeFs["fsyncSync"] = fsyncSyncImpl as never;
export const openSync: NodeFs["openSync"] = openSyncImpl as never;
export const closeSync: NodeFs["closeSync"] = closeSyncImpl as never;
export const writeSync: NodeFs["writeSync"] = writeSyncImpl as never;
export const readSync: NodeFs["readSync"] = readSyncImpl as never;
export const statSync: NodeFs["statSync"] = statSyncImpl as never;
export const lstatSync: NodeFs["lstatSync"] = lstatSyncImpl as never;
export const fstatSync: NodeFs["fstatSync"] = fstatSyncImpl as never;
export const readdirSync: NodeFs["readdirSync"] = readdirSyncImpl as never;
export const readlinkSync: NodeFs["readlinkSync"] = readlinkSyncImpl as never;
export const statfsSync: NodeFs["statfsSync"] = statfsSyncImpl as never;
export const linkSync: NodeFs["linkSync"] = linkSyncImpl as never;
