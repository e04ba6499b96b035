import { closeSync, fstatSync, openSync, readdirSync, statSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { launch, type LaunchedProcess, type MountSpec } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";
import { log } from "../log.ts";
import { errorMessage } from "../errors.ts";
import { defaultNetnsDir, netnsPath } from "./dir.ts";
import { NetnsNotFoundError } from "./errors.ts";
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
  /**
   * SIGKILL the command when this process dies: `ctrnet run` owns its command as it owns its network,
   * so a killed ctrnet must not leave the command running on a network that `gc` then removes.
   */
  dieWithParent?: boolean;
  /**
   * A uts namespace of its own with this hostname, HOSTNAME in its environment and `file` (if given) bound
   * over ETC/hostname, as a container's; hostUts: the host's uts namespace, HOSTNAME only. Without it the
   * command shares the host's, with the environment as it is.
   */
  hostname?: { name: string; file?: string; hostUts?: boolean };
}

/** A command started by spawnInNetns. */
export type NetnsProcess = Pick<LaunchedProcess, "pid" | "exited" | "kill">;

/** A sysfs mounted from inside the namespace shows its interfaces under /sys/class/net, as ip does. */
function sysfsMount(name: string): MountSpec {
  return { source: name, target: "/sys", fstype: "sysfs", flags: 0, replace: true, fatal: false };
}

/** `ip netns exec` convention: ETC/netns/NAME/FILE is seen as ETC/FILE, e.g. a resolv.conf per namespace. */
function etcOverrideMounts(name: string, etcDir: string): MountSpec[] {
  const overrides = join(etcDir, "netns", name);
  let files: string[];
  try {
    files = readdirSync(overrides);
  } catch {
    return [];
  }
  return files.map((file) => ({ source: join(overrides, file), target: join(etcDir, file), flags: libc.MS_BIND, fatal: false }));
}

function etcFileMounts(files: Readonly<Record<string, string>>, etcDir: string): MountSpec[] {
  return Object.entries(files).map(([file, source]) => ({ source, target: join(etcDir, file), flags: libc.MS_BIND, fatal: true }));
}

function mountWarning(name: string, err: unknown, mount: MountSpec): void {
  const what = mount.fstype === "sysfs" ? `mount /sys for network namespace "${name}"` : `bind ${mount.source} over ${mount.target}`;
  log.warn(`cannot ${what}: ${errorMessage(err)}`);
}

/**
 * setns needs CAP_SYS_ADMIN over the namespace even when the caller is in it already, which a rootless
 * ctrnet does not have over the host's: a command for the host's namespace just stays in it.
 */
function isCurrentNetns(fd: number): boolean {
  const target = fstatSync(fd);
  const current = statSync("/proc/thread-self/ns/net");
  return target.ino === current.ino && target.dev === current.dev;
}

/**
 * Starts argv like `ip netns exec`: in the network namespace (a name in the netns dir), in a private
 * mount namespace (rslave, so nothing mounted there reaches the host) with that namespace's /sys and /etc
 * overrides; stdio inherited unless told otherwise. Throws a SysError "execve" when argv cannot be run.
 */
export function spawnInNetns(name: string, argv: string[], opts: ExecOptions = {}): NetnsProcess {
  const { path } = netnsPath(name, opts.dir ?? defaultNetnsDir());
  const etcDir = opts.etcDir ?? "/etc";
  let fd: number;
  try {
    fd = openNetns(path);
  } catch (err) {
    throw err instanceof NetnsNotFoundError && !name.includes("/") ? new NetnsNotFoundError(path, `"${name}"`) : err;
  }
  const opened: number[] = [];
  try {
    // fds 0-2 not listed pass through to the child as they are
    const fds: Record<number, number> = {};
    (opts.stdio ?? ["inherit", "inherit", "inherit"]).forEach((s, i) => {
      if (s === "ignore") opened.push((fds[i] = openSync("/dev/null", i === 0 ? "r" : "w")));
      else if (s !== "inherit") fds[i] = s;
    });
    const hostname = opts.hostname;
    const ownUts = hostname !== undefined && !hostname.hostUts;
    const current = isCurrentNetns(fd);
    return launch({
      argv,
      join: current ? [] : [{ fd, type: "net" }],
      unshare: ownUts ? ["mnt", "uts"] : ["mnt"],
      ...(ownUts ? { hostname: hostname.name } : {}),
      ...(hostname ? { env: { ...process.env, HOSTNAME: hostname.name } } : {}),
      mounts: [
        { source: null, target: "/", flags: libc.MS_REC | libc.MS_SLAVE, fatal: true },
        sysfsMount(name),
        ...etcOverrideMounts(name, etcDir),
        ...etcFileMounts(opts.etcFiles ?? {}, etcDir),
        // a host without /etc/hostname has nothing to bind over: the hostname is set all the same
        ...(ownUts && hostname.file ? [{ source: hostname.file, target: join(etcDir, "hostname"), flags: libc.MS_BIND, fatal: false }] : []),
      ],
      // the namespace it is in already (--network host) has a /sys of its own mostly; a rootless user cannot
      // mount the host's (EPERM), which is no news worth a warning on every such run
      onMountWarning: (err, mount) => (current && mount.fstype === "sysfs" ? log.debug(`keeping /sys: ${errorMessage(err)}`) : mountWarning(name, err, mount)),
      fds,
      ...(opts.dieWithParent ? { pdeathsig: "SIGKILL" as const } : {}),
    });
  } finally {
    for (const o of opened) closeSync(o);
    libc.close(fd);
  }
}
