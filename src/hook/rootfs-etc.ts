// /etc/resolv.conf and /etc/hosts written into the bundle's root filesystem (io.ctrnet.write-etc=true),
// for runtimes that bind nothing over them. What was there is kept next to ctrnet's state and put back
// at poststop, so a root filesystem leaves a container's run as it came in. Files are replaced by
// rename, never written through: a symlink in the image (resolv.conf -> ../run/…) must not lead a root
// hook to a file outside the root filesystem. A file with other hard links (an image store's) is moved
// aside in its directory and moved back, so it comes back as the same inode, still linked.
import { chmodSync, chownSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from "../../ffi/fs.ts";
import type { Stats } from "../../ffi/fs.ts";
import { basename, dirname, join } from "node:path";
import * as v from "valibot";
import { CtrnetError, ErrorList } from "../errors.ts";
import { ETC_FILE_NAMES, type EtcFiles } from "../lifecycle/etc-files.ts";
import { describeIssues } from "../schema/issues.ts";

const Original = v.variant("kind", [
  v.object({ kind: v.literal("absent") }),
  v.object({ kind: v.literal("file"), base64: v.string(), mode: v.number(), uid: v.number(), gid: v.number() }),
  v.object({ kind: v.literal("symlink"), target: v.string() }),
  /** A file with other hard links, moved aside in the same directory (same inode) until it goes back. */
  v.object({ kind: v.literal("kept"), path: v.pipe(v.string(), v.startsWith("/")) }),
]);
type Original = v.InferOutput<typeof Original>;

const Backup = v.object({
  etcDir: v.pipe(v.string(), v.startsWith("/")),
  /** ctrnet made the directory, so it goes again once empty. */
  createdEtc: v.boolean(),
  /** What ctrnet replaced: a file the container keeps (--no-hosts, --dns none) has no entry. */
  originals: v.object({ "resolv.conf": v.optional(Original), hosts: v.optional(Original) }),
});
type Backup = v.InferOutput<typeof Backup>;

function backupPath(ctx: { readonly runtimeDir: string }, id: string): string {
  return join(ctx.runtimeDir, "hook", `${id}.json`);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

function original(path: string): Original {
  const st = lstatOrUndefined(path);
  if (!st) return { kind: "absent" };
  if (st.isSymbolicLink()) return { kind: "symlink", target: readlinkSync(path) };
  if (!st.isFile()) throw new CtrnetError(`cannot write ${path}: it is neither a file nor a symlink`);
  if (st.nlink > 1) return { kind: "kept", path: join(dirname(path), `.${basename(path)}.ctrnet-kept`) };
  return { kind: "file", base64: readFileSync(path).toString("base64"), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** The directory, made if missing; refused if it is a symlink, which could point anywhere on the host. */
function prepareEtcDir(etcDir: string): boolean {
  const st = lstatOrUndefined(etcDir);
  if (!st) {
    mkdirSync(etcDir, { mode: 0o755 });
    return true;
  }
  if (!st.isDirectory()) throw new CtrnetError(`cannot write into ${etcDir}: it is not a directory (a symlink is not followed)`);
  return false;
}

/** Puts `make`'s result at dest in one rename, from a fresh file beside it. */
function replace(dest: string, make: (tmp: string) => void): void {
  const tmp = `${dest}.ctrnet-${crypto.randomUUID().slice(0, 8)}`;
  try {
    make(tmp);
    renameSync(tmp, dest);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeFile(dest: string, content: string | Buffer, owner?: { mode: number; uid: number; gid: number }): void {
  replace(dest, (tmp) => {
    writeFileSync(tmp, content, { flag: "wx", mode: 0o644 });
    if (owner) {
      chownSync(tmp, owner.uid, owner.gid);
      chmodSync(tmp, owner.mode);
    }
  });
}

function restore(dest: string, orig: Original): void {
  if (orig.kind === "kept") renameSync(orig.path, dest);
  else if (orig.kind === "absent") rmSync(dest, { force: true });
  else if (orig.kind === "symlink") replace(dest, (tmp) => symlinkSync(orig.target, tmp));
  else writeFile(dest, Buffer.from(orig.base64, "base64"), orig);
}

function readBackup(path: string): Backup | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = v.safeParse(Backup, json);
  if (!parsed.success) throw new CtrnetError(`cannot restore the root filesystem's /etc files: ${path} is damaged (${describeIssues(parsed.issues)})`);
  return parsed.output;
}

/** Writes the files given into rootfs/etc, keeping what they replace for restoreRootfsEtc. */
export function writeRootfsEtc(ctx: { readonly runtimeDir: string }, id: string, rootfs: string, files: Partial<EtcFiles>): void {
  const etcDir = join(rootfs, "etc");
  const createdEtc = prepareEtcDir(etcDir);
  const originals: Backup["originals"] = {};
  for (const name of ETC_FILE_NAMES) if (files[name] !== undefined) originals[name] = original(join(etcDir, name));
  const backup: Backup = { etcDir, createdEtc, originals };
  const path = backupPath(ctx, id);
  mkdirSync(join(ctx.runtimeDir, "hook"), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(backup), { mode: 0o600 });
  try {
    for (const name of ETC_FILE_NAMES) {
      const orig = backup.originals[name];
      const content = files[name];
      if (orig === undefined || content === undefined) continue;
      if (orig.kind === "kept") renameSync(join(etcDir, name), orig.path);
      writeFile(join(etcDir, name), content);
    }
  } catch (err) {
    restoreRootfsEtc(ctx, id);
    throw err;
  }
}

/** Puts back what writeRootfsEtc replaced; nothing to do when it wrote nothing for this id. Goes on past errors. */
export function restoreRootfsEtc(ctx: { readonly runtimeDir: string }, id: string): void {
  const path = backupPath(ctx, id);
  const backup = readBackup(path);
  if (!backup) return;
  const errors: unknown[] = [];
  for (const name of ETC_FILE_NAMES) {
    const orig = backup.originals[name];
    if (orig === undefined) continue;
    try {
      restore(join(backup.etcDir, name), orig);
    } catch (err) {
      errors.push(err);
    }
  }
  if (backup.createdEtc && errors.length === 0) {
    try {
      rmdirSync(backup.etcDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "ENOENT") errors.push(err);
    }
  }
  if (errors.length) throw new ErrorList(`cannot restore ${backup.etcDir}`, errors);
  rmSync(path, { force: true });
}
