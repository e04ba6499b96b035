import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import * as libc from "../../ffi/libc.ts";
import { log } from "../log.ts";
import { errorMessage } from "../errors.ts";
import { defaultNetnsDir, netnsPath } from "./dir.ts";
import { withNetns } from "./enter.ts";
import { NetnsNotFoundError } from "./errors.ts";
import { withPrivateMounts } from "./mounts.ts";
import { openNetns } from "./open.ts";

/** Where the child's stdin, stdout and stderr go: this process's own, nowhere, or an fd. */
type Stdio = "inherit" | "ignore" | number;

export interface ExecOptions {
  dir?: string;
  stdio?: [Stdio, Stdio, Stdio];
  /** Where `netns/NAME/` overrides are looked up and bind-mounted to; /etc unless a test says otherwise. */
  etcDir?: string;
  /**
   * Files bound over ETC/NAME (by NAME) after the netns/NAME overrides, so they win: a container's own
   * resolv.conf and hosts. Unlike the overrides, a failure is an error: the command must not start with
   * the host's file in their place.
   */
  etcFiles?: Readonly<Record<string, string>>;
}

/** A sysfs mounted from inside the namespace shows its interfaces under /sys/class/net, as ip does. */
function mountNetnsSysfs(name: string): void {
  let flags = 0;
  try {
    libc.umount2("/sys", libc.MNT_DETACH);
  } catch {
    // The old /sys stays underneath; a read-only one must not be shadowed by a writable one.
    flags = libc.MS_RDONLY;
  }
  try {
    libc.mount(name, "/sys", "sysfs", flags);
  } catch (err) {
    log.warn(`cannot mount /sys for network namespace "${name}": ${errorMessage(err)}`);
  }
}

/** `ip netns exec` convention: ETC/netns/NAME/FILE is seen as ETC/FILE, e.g. a resolv.conf per namespace. */
function bindEtcOverrides(name: string, etcDir: string): void {
  const overrides = join(etcDir, "netns", name);
  let files: string[];
  try {
    files = readdirSync(overrides);
  } catch {
    return;
  }
  for (const file of files) {
    try {
      libc.mount(join(overrides, file), join(etcDir, file), null, libc.MS_BIND);
    } catch (err) {
      log.warn(`cannot bind ${join(overrides, file)} over ${join(etcDir, file)}: ${errorMessage(err)}`);
    }
  }
}

function bindEtcFiles(files: Readonly<Record<string, string>>, etcDir: string): void {
  for (const [file, source] of Object.entries(files)) libc.mount(source, join(etcDir, file), null, libc.MS_BIND);
}

/**
 * Starts argv like `ip netns exec`: in the network namespace (a name in the netns dir), in a private
 * mount namespace with that namespace's /sys and /etc overrides; stdio inherited unless told otherwise.
 */
export function spawnInNetns(name: string, argv: string[], opts: ExecOptions = {}): Subprocess {
  const { path } = netnsPath(name, opts.dir ?? defaultNetnsDir());
  let fd: number;
  try {
    fd = openNetns(path);
  } catch (err) {
    throw err instanceof NetnsNotFoundError && !name.includes("/") ? new NetnsNotFoundError(path, `"${name}"`) : err;
  }
  try {
    return withNetns(fd, () =>
      withPrivateMounts(() => {
        mountNetnsSysfs(name);
        bindEtcOverrides(name, opts.etcDir ?? "/etc");
        bindEtcFiles(opts.etcFiles ?? {}, opts.etcDir ?? "/etc");
        // env given explicitly: Bun.spawn's default is the environment at startup, not process.env now
        return Bun.spawn(argv, { env: process.env, stdio: opts.stdio ?? ["inherit", "inherit", "inherit"] });
      }),
    );
  } finally {
    libc.close(fd);
  }
}
