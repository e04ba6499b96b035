// /etc files written into a root filesystem and put back: originals of every kind come back as they
// were, symlinks are replaced and never followed, and a missing /etc is made and removed again.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { restoreRootfsEtc, writeRootfsEtc } from "../../src/hook/rootfs-etc.ts";

const files = { "resolv.conf": "nameserver 10.0.0.1\n", hosts: "127.0.0.1\tlocalhost\n10.0.0.5\tc1\n" };

let dir: string;
let ctx: { runtimeDir: string };
let rootfs: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-rootfs-"));
  ctx = { runtimeDir: join(dir, "run") };
  rootfs = join(dir, "rootfs");
  mkdirSync(rootfs);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Each entry of a directory: name, mode, and content or symlink target. */
function snapshot(path: string): unknown {
  return readdirSync(path)
    .sort()
    .map((f) => {
      const st = lstatSync(join(path, f));
      return [f, st.mode, st.isSymbolicLink() ? readlinkSync(join(path, f)) : readFileSync(join(path, f), "utf8")];
    });
}

describe("writeRootfsEtc and restoreRootfsEtc", () => {
  test("a file and a symlink: written by replacing, then put back", () => {
    const etc = join(rootfs, "etc");
    mkdirSync(etc);
    writeFileSync(join(etc, "hosts"), "original\n", { mode: 0o640 });
    const outside = join(dir, "outside");
    writeFileSync(outside, "host file\n");
    symlinkSync(outside, join(etc, "resolv.conf"));
    writeFileSync(join(etc, "passwd"), "root:x:0:0::/:/bin/sh\n");
    const before = snapshot(etc);

    writeRootfsEtc(ctx, "c1", rootfs, files);
    expect(readFileSync(join(etc, "hosts"), "utf8")).toBe(files.hosts);
    expect(lstatSync(join(etc, "resolv.conf")).isFile()).toBe(true);
    expect(readFileSync(join(etc, "resolv.conf"), "utf8")).toBe(files["resolv.conf"]);
    expect(statSync(join(etc, "hosts")).mode & 0o777).toBe(0o644);
    expect(readFileSync(outside, "utf8")).toBe("host file\n");

    restoreRootfsEtc(ctx, "c1");
    expect(snapshot(etc)).toEqual(before);
    expect(readdirSync(join(ctx.runtimeDir, "hook"))).toEqual([]);
  });

  test("a hosts file with another hard link (an image store's) comes back as the same inode, still linked, its content untouched", () => {
    const etc = join(rootfs, "etc");
    mkdirSync(etc);
    const store = join(dir, "layer-hosts");
    writeFileSync(store, "127.0.0.1 image\n");
    linkSync(store, join(etc, "hosts"));
    const inode = statSync(store).ino;
    writeRootfsEtc(ctx, "c1", rootfs, files);
    expect(readFileSync(join(etc, "hosts"), "utf8")).toBe(files.hosts);
    expect(readFileSync(store, "utf8")).toBe("127.0.0.1 image\n");
    restoreRootfsEtc(ctx, "c1");
    expect(statSync(join(etc, "hosts")).ino).toBe(inode);
    expect(statSync(store).nlink).toBe(2);
    expect(readFileSync(join(etc, "hosts"), "utf8")).toBe("127.0.0.1 image\n");
    expect(readdirSync(etc)).toEqual(["hosts"]);
  });

  test("a missing /etc is made, and goes again", () => {
    writeRootfsEtc(ctx, "c2", rootfs, files);
    expect(readdirSync(join(rootfs, "etc")).sort()).toEqual(["hosts", "resolv.conf"]);
    restoreRootfsEtc(ctx, "c2");
    expect(existsSync(join(rootfs, "etc"))).toBe(false);
  });

  test("an /etc that is a symlink is refused, and nothing is written", () => {
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, join(rootfs, "etc"));
    expect(() => writeRootfsEtc(ctx, "c3", rootfs, files)).toThrow("is not a directory (a symlink is not followed)");
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(existsSync(join(ctx.runtimeDir, "hook", "c3.json"))).toBe(false);
  });

  test("restore without a write does nothing; a damaged backup is reported", () => {
    restoreRootfsEtc(ctx, "never");
    mkdirSync(join(ctx.runtimeDir, "hook"), { recursive: true });
    writeFileSync(join(ctx.runtimeDir, "hook", "bad.json"), "{");
    expect(() => restoreRootfsEtc(ctx, "bad")).toThrow("is damaged");
  });
});
