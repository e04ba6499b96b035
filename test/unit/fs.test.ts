// ffi/fs.ts against Bun's node:fs: the same results, the same errors (message, code, errno, syscall, path),
// the same files left, for every argument shape ctrnet passes, and the hand-over for the shapes it does not do.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as real from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as fs from "../../ffi/fs.ts";

let dir: string;
beforeAll(() => {
  dir = real.mkdtempSync(join(tmpdir(), "ctrnet-fs-"));
});
afterAll(() => real.rmSync(dir, { recursive: true, force: true }));

/** What a call threw, as the fields a caller reads; or what it returned. */
function outcome(f: () => unknown): unknown {
  try {
    return { returned: f() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, dest: (e as { dest?: string }).dest };
  }
}

describe("ffi/fs.ts", () => {
  test("reads files as node:fs does: utf8 and bytes, empty, larger than its first buffer, /proc", () => {
    const big = "x".repeat(100_000) + "é";
    real.writeFileSync(join(dir, "big"), big);
    real.writeFileSync(join(dir, "empty"), "");
    expect(fs.readFileSync(join(dir, "big"), "utf8")).toBe(big);
    expect(fs.readFileSync(join(dir, "big"), { encoding: "utf8" })).toBe(big);
    const bytes = fs.readFileSync(join(dir, "big"));
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(bytes.equals(real.readFileSync(join(dir, "big")))).toBe(true);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    expect(fs.readFileSync(join(dir, "empty"), "utf8")).toBe("");
    expect(fs.readFileSync("/proc/self/status", "utf8")).toContain("Pid:");
    // another encoding: node:fs's
    expect(fs.readFileSync(join(dir, "big"), "latin1")).toBe(real.readFileSync(join(dir, "big"), "latin1"));
  });

  test("errors for a missing, existing or non-empty path match node:fs's", () => {
    const missing = join(dir, "nope", "x");
    const cases: [string, () => unknown, () => unknown][] = [
      ["readFileSync", () => fs.readFileSync(missing, "utf8"), () => real.readFileSync(missing, "utf8")],
      ["statSync", () => fs.statSync(missing), () => real.statSync(missing)],
      ["lstatSync", () => fs.lstatSync(missing), () => real.lstatSync(missing)],
      ["mkdirSync", () => fs.mkdirSync(missing), () => real.mkdirSync(missing)],
      ["mkdirSync existing", () => fs.mkdirSync(dir), () => real.mkdirSync(dir)],
      ["unlinkSync", () => fs.unlinkSync(missing), () => real.unlinkSync(missing)],
      ["rmdirSync", () => fs.rmdirSync(missing), () => real.rmdirSync(missing)],
      ["readdirSync", () => fs.readdirSync(missing), () => real.readdirSync(missing)],
      ["openSync", () => fs.openSync(missing, "r"), () => real.openSync(missing, "r")],
      ["openSync wx", () => fs.openSync(dir, "wx"), () => real.openSync(dir, "wx")],
      ["writeFileSync", () => fs.writeFileSync(missing, "x"), () => real.writeFileSync(missing, "x")],
      ["writeFileSync wx", () => fs.writeFileSync(dir, "x", { flag: "wx" }), () => real.writeFileSync(dir, "x", { flag: "wx" })],
      ["statfsSync", () => fs.statfsSync(missing), () => real.statfsSync(missing)],
      ["readlinkSync", () => fs.readlinkSync(missing), () => real.readlinkSync(missing)],
      ["renameSync", () => fs.renameSync(missing, `${missing}2`), () => real.renameSync(missing, `${missing}2`)],
      ["rmSync", () => fs.rmSync(missing), () => real.rmSync(missing)],
      ["linkSync", () => fs.linkSync(missing, `${missing}2`), () => real.linkSync(missing, `${missing}2`)],
      ["linkSync existing", () => fs.linkSync(join(dir, "big"), join(dir, "empty")), () => real.linkSync(join(dir, "big"), join(dir, "empty"))],
      ["readFileSync of a directory", () => fs.readFileSync(dir, "utf8"), () => real.readFileSync(dir, "utf8")],
    ];
    for (const [name, mine, theirs] of cases) expect({ name, ...(outcome(mine) as object) }).toEqual({ name, ...(outcome(theirs) as object) });
    const full = join(dir, "full");
    real.mkdirSync(join(full, "sub"), { recursive: true });
    expect(outcome(() => fs.rmdirSync(full))).toEqual(outcome(() => real.rmdirSync(full)));
    expect(fs.statSync(missing, { throwIfNoEntry: false })).toBeUndefined();
  });

  test("writes with modes, flags and descriptors as node:fs does", () => {
    const old = process.umask(0o022);
    try {
      const f = join(dir, "w");
      fs.writeFileSync(f, "first", { mode: 0o640 });
      expect(real.statSync(f).mode & 0o777).toBe(0o640);
      fs.writeFileSync(f, "2nd");
      expect(real.readFileSync(f, "utf8")).toBe("2nd");
      fs.writeFileSync(f, Buffer.from("+more"), { flag: "a" });
      expect(real.readFileSync(f, "utf8")).toBe("2nd+more");
      fs.writeFileSync(join(dir, "plain"), "x");
      expect(real.statSync(join(dir, "plain")).mode & 0o777).toBe(0o644);
      const fd = fs.openSync(join(dir, "fd"), "w", 0o600);
      fs.writeFileSync(fd, "via fd ");
      expect(fs.writeSync(fd, "and writeSync")).toBe(13);
      expect(fs.writeSync(fd, Buffer.from("..!.."), 2, 1)).toBe(1);
      fs.closeSync(fd);
      expect(real.readFileSync(join(dir, "fd"), "utf8")).toBe("via fd and writeSync!");
      const rd = fs.openSync(join(dir, "fd"), "r");
      const buf = Buffer.alloc(6);
      expect(fs.readSync(rd, buf, 0, 3, 4)).toBe(3);
      expect(fs.readSync(rd, buf, 3, 3, null)).toBe(3);
      fs.closeSync(rd);
      expect(buf.toString()).toBe("fd via");
    } finally {
      process.umask(old);
    }
  });

  test("mkdir -p, rm -rf, rename, rmdir, chmod, exists", () => {
    const deep = join(dir, "a", "b", "c");
    expect(fs.mkdirSync(deep, { recursive: true, mode: 0o700 })).toBe(join(dir, "a"));
    expect(fs.mkdirSync(deep, { recursive: true })).toBeUndefined();
    expect(real.statSync(join(dir, "a", "b")).mode & 0o777).toBe(0o700);
    real.writeFileSync(join(deep, "f"), "x");
    real.mkdirSync(join(dir, "outside"));
    real.writeFileSync(join(dir, "outside", "kept"), "x");
    real.symlinkSync(join(dir, "outside"), join(dir, "a", "link"));
    expect(fs.existsSync(join(deep, "f"))).toBe(true);
    fs.rmSync(join(dir, "a"), { recursive: true, force: true });
    expect(real.existsSync(join(dir, "a"))).toBe(false);
    expect(real.existsSync(join(dir, "outside", "kept"))).toBe(true); // the link went, not what it named
    fs.rmSync(join(dir, "a"), { recursive: true, force: true });
    fs.rmSync(join(dir, "nothing"), { force: true });
    real.symlinkSync(join(dir, "gone"), join(dir, "dangling"));
    expect(fs.existsSync(join(dir, "dangling"))).toBe(false);
    expect(fs.existsSync(`${dir}\0/x`)).toBe(false);
    fs.renameSync(join(dir, "dangling"), join(dir, "dangling2"));
    fs.linkSync(join(dir, "outside", "kept"), join(dir, "hard"));
    expect(real.statSync(join(dir, "hard")).ino).toBe(real.statSync(join(dir, "outside", "kept")).ino);
    expect(real.lstatSync(join(dir, "dangling2")).isSymbolicLink()).toBe(true);
    fs.mkdirSync(join(dir, "empty-dir"));
    fs.rmdirSync(join(dir, "empty-dir"));
    fs.chmodSync(join(dir, "outside", "kept"), 0o600);
    expect(real.statSync(join(dir, "outside", "kept")).mode & 0o777).toBe(0o600);
    // a directory without recursive: node:fs's own error
    expect(outcome(() => fs.rmSync(join(dir, "outside")))).toEqual(outcome(() => real.rmSync(join(dir, "outside"))));
  });

  test("stat, lstat, fstat, statfs, readlink and readdir give node:fs's values", () => {
    const f = join(dir, "st");
    real.writeFileSync(f, "12345");
    real.symlinkSync(f, join(dir, "st-link"));
    const fields = ["dev", "ino", "mode", "nlink", "uid", "gid", "rdev", "size", "blksize", "blocks", "mtimeMs", "ctimeMs"] as const;
    for (const path of [f, dir, "/proc/self/ns/net", "/dev/null"]) {
      const mine = fs.statSync(path);
      const theirs = real.statSync(path);
      for (const k of fields) expect({ path, k, v: mine[k] }).toEqual({ path, k, v: theirs[k] });
      expect([mine.isFile(), mine.isDirectory(), mine.isCharacterDevice(), mine.mtime.getTime()]).toEqual([
        theirs.isFile(),
        theirs.isDirectory(),
        theirs.isCharacterDevice(),
        theirs.mtime.getTime(),
      ]);
      const big = fs.statSync(path, { bigint: true });
      const bigTheirs = real.statSync(path, { bigint: true });
      expect([big.ino, big.size, big.mtimeNs, big.ctimeNs, big.dev]).toEqual([bigTheirs.ino, bigTheirs.size, bigTheirs.mtimeNs, bigTheirs.ctimeNs, bigTheirs.dev]);
    }
    expect(fs.lstatSync(join(dir, "st-link")).isSymbolicLink()).toBe(true);
    expect(fs.statSync(join(dir, "st-link")).isFile()).toBe(true);
    const fd = real.openSync(f, "r");
    expect(fs.fstatSync(fd).size).toBe(5);
    expect(fs.fstatSync(fd).ino).toBe(real.fstatSync(fd).ino);
    real.closeSync(fd);
    expect(fs.statfsSync("/proc").type).toBe(real.statfsSync("/proc").type);
    const { bsize, frsize, blocks, files } = fs.statfsSync(dir);
    const theirs = real.statfsSync(dir);
    expect({ bsize, frsize, blocks, files }).toEqual({ bsize: theirs.bsize, frsize: theirs.frsize, blocks: theirs.blocks, files: theirs.files });
    expect(fs.readlinkSync(join(dir, "st-link"))).toBe(f);
    expect(fs.readlinkSync("/proc/self/ns/net")).toBe(real.readlinkSync("/proc/self/ns/net"));
    expect(fs.readdirSync(dir)).toEqual(real.readdirSync(dir));
    expect(fs.readdirSync("/proc/self/fd").length).toBeGreaterThan(0);
    const kinds = (entries: { name: string; isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; parentPath: string }[]) =>
      entries.map((d) => [d.name, d.isFile(), d.isDirectory(), d.isSymbolicLink(), d.parentPath]);
    expect(kinds(fs.readdirSync(dir, { withFileTypes: true }))).toEqual(kinds(real.readdirSync(dir, { withFileTypes: true })));
    expect(kinds(fs.readdirSync("/proc/self", { withFileTypes: true }))).toEqual(kinds(real.readdirSync("/proc/self", { withFileTypes: true })));
  });

  test("constants are Linux's", () => {
    for (const k of ["O_RDONLY", "O_RDWR", "O_CREAT", "O_EXCL", "O_NOFOLLOW", "R_OK", "W_OK", "X_OK", "F_OK"] as const) {
      expect({ k, v: fs.constants[k] }).toEqual({ k, v: real.constants[k] });
    }
  });
});
