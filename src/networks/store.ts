// Network configuration files as ctrnet writes and removes them, and the lock that keeps two ctrnet
// processes from picking the same subnet, bridge or name.
import { chmodSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import type { CniRuntime } from "../drivers/cni/index.ts";
import type { RootlessNetnsPaths } from "../rootless/netns.ts";
import type { ContainerState } from "../state/index.ts";
import { withLock } from "../state/lock.ts";
import { UsageError } from "../errors.ts";

/** What managing networks needs of a command's context (the lifecycle's Context is one). */
export interface NetworkScope {
  readonly runtimeDir: string;
  /** Where ctrnet writes network configurations. */
  readonly cniConfigDir: string;
  readonly cni: CniRuntime;
  /** Where a rootless user's bridges and their firewall are (src/rootless/netns.ts). */
  readonly rootlessNetns?: RootlessNetnsPaths;
  state(): ContainerState;
}

function conflistPath(dir: string, name: string): string {
  return join(dir, `${name}.conflist`);
}

/** The conflist written whole and synced to a temporary file, readable by anyone, for a link or rename into place. */
function writeTemporary(tmp: string, conflist: Record<string, unknown>): void {
  const fd = openSync(tmp, "w", 0o644);
  try {
    writeSync(fd, `${JSON.stringify(conflist, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // The mode asked for in open() was narrowed by the umask; the plugins' readers may run as anyone.
    chmodSync(tmp, 0o644);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}

/**
 * Written whole to a temporary file, then linked into place: readers never see half a file, and the link
 * fails rather than replace a file already there (one too broken to have been listed as a network).
 */
export function writeConflist(dir: string, name: string, conflist: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = conflistPath(dir, name);
  // Not ending in .conflist, so a concurrent scan of the directory never reads it.
  const tmp = join(dir, `.${name}.conflist.${process.pid}.tmp`);
  writeTemporary(tmp, conflist);
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new UsageError(`network ${name}: ${path} already exists but is not a usable network configuration; fix or remove it`);
    }
    throw err;
  } finally {
    unlinkSync(tmp);
  }
  return path;
}

/** Held around every change of the set of networks. */
export function withNetworksLock<T>(ctx: NetworkScope, fn: () => T | Promise<T>): Promise<T> {
  mkdirSync(ctx.runtimeDir, { recursive: true, mode: 0o700 });
  return withLock(join(ctx.runtimeDir, "networks.lock"), fn);
}

/** An existing network's file replaced whole (temporary file, then renamed over it): readers see the old or the new. */
export function replaceConflist(path: string, conflist: Record<string, unknown>): void {
  const tmp = `${path.replace(/\.conflist$/, "")}.${process.pid}.update.tmp`;
  writeTemporary(tmp, conflist);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
}
