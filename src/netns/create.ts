import { rmSync } from "../../ffi/fs.ts";
import { isSysError } from "../../ffi/errno.ts";
import * as libc from "../../ffi/libc.ts";
import { createNetnsAt, type NewNetnsSetup } from "../../ffi/nsthread.ts";
import { UsageError } from "../errors.ts";
import { validateName } from "../names.ts";
import { defaultNetnsDir, netnsPath, prepareNetnsDir } from "./dir.ts";
import { NetnsNotFoundError } from "./errors.ts";
import { openNetns } from "./open.ts";

export interface NetnsOptions {
  /** Defaults to a random `cni-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  name?: string;
  dir?: string;
}

/** createNetns's: what is done in the namespace before it is mounted (nothing unless asked). */
export type CreateNetnsOptions = NetnsOptions & NewNetnsSetup;

export interface Netns {
  name: string;
  path: string;
}

/** The name format of containers/common pkg/netns, so tools that look for `cni-` names find ours. */
function randomName(): string {
  const hex = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
  return `cni-${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const RANDOM_NAME_TRIES = 16;

/** Creates the empty mount-point file exclusively, so two creators of one name cannot both succeed. */
function createMountPoint(dir: string, name: string | undefined): Netns {
  for (let tries = 1; ; tries++) {
    const ns = netnsPath(name ?? randomName(), dir);
    try {
      libc.close(libc.open(ns.path, libc.O_RDONLY | libc.O_CREAT | libc.O_EXCL, 0o444));
      return ns;
    } catch (err) {
      if (!isSysError(err, "EEXIST")) throw err;
      if (name !== undefined) throw new UsageError(`network namespace "${name}" already exists`);
      if (tries === RANDOM_NAME_TRIES) throw err;
    }
  }
}

/** Makes the mount-point file for a new namespace, runs mount on it, and removes the file if that fails. */
function mountNetns(opts: NetnsOptions, mount: (path: string) => void): Netns {
  const dir = opts.dir ?? defaultNetnsDir();
  if (opts.name !== undefined) validateName("network namespace name", opts.name);
  prepareNetnsDir(dir);
  const ns = createMountPoint(dir, opts.name);
  try {
    mount(ns.path);
  } catch (err) {
    rmSync(ns.path, { force: true });
    throw err;
  }
  return ns;
}

/**
 * Creates a persistent network namespace: a thread of its own unshares and bind-mounts its new namespace
 * onto a file in the netns dir, and exits there. Loopback stays down, as with `ip netns add`, unless
 * opts.loopbackUp: a container's own netns gets lo up (and IPv6 autoconf off) in the same visit.
 */
export function createNetns(opts: CreateNetnsOptions = {}): Netns {
  const setup: NewNetnsSetup = { loopbackUp: opts.loopbackUp ?? false, ipv6AutoconfOff: opts.ipv6AutoconfOff ?? false };
  return mountNetns(opts, (path) => createNetnsAt(path, setup));
}

/** Keeps the network namespace of a running process as a persistent one, named like createNetns's. */
export function adoptNetns(pid: number, opts: NetnsOptions = {}): Netns {
  // Mounting from the open fd, not from /proc/PID, so a pid reused meanwhile cannot swap the namespace.
  let fd: number;
  try {
    fd = openNetns(`/proc/${pid}/ns/net`);
  } catch (err) {
    throw err instanceof NetnsNotFoundError ? new NetnsNotFoundError(err.path, `of process ${pid}`) : err;
  }
  try {
    return mountNetns(opts, (path) => libc.mount(`/proc/self/fd/${fd}`, path, null, libc.MS_BIND));
  } finally {
    libc.close(fd);
  }
}
