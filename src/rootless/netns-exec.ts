// Programs inside the rootless netns, as the seed's RootlessCNI.Do sets them up: in that network
// namespace, in a private mount namespace where /run is the user's own directory (so iptables'
// xtables.lock and the plugins' state are the user's) with the netns dir and ctrnet's CNI state bound
// back in at their paths, and the rootless netns's resolv.conf as /etc/resolv.conf. The C launcher does it
// all between fork and exec, so a plugin call costs one process: the plugin's.
import { existsSync, mkdirSync } from "../../ffi/fs.ts";
import { join, relative } from "node:path";
import { launch, type LaunchedProcess, type MountSpec } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import { netnsUsable, openNetns } from "../netns/index.ts";
import { pluginRunDir, resolvConfPath, type RootlessNetnsPaths, type StartWayOut, withRootlessNetns } from "./netns.ts";

/** A started program with its output collected (the CNI driver's PluginProcess). */
export interface SpawnedProgram {
  readonly output: Promise<{ stdout: string; stderr: string }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | number | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the program at path with stdin fed to it (the CNI driver's PluginSpawner). */
export type ProgramSpawner = (path: string, stdin: Uint8Array, env: Record<string, string>) => SpawnedProgram;

/** host-local's dataDir when a conflist names none. */
const SYSTEM_CNI_DIR = "/var/lib/cni";

/** What the plugins must find where they were told it is: container netns files, results, IPAM. */
export interface PluginView {
  netnsDir: string;
  cacheDir: string;
}

function underRun(path: string): boolean {
  return path.startsWith("/run/");
}

/**
 * Mount targets are made here, before any launch: the launcher only mounts. Paths under /run are bound
 * into the private /run at the same place first, recursively, so the netns files mounted there stay
 * namespace files.
 */
export function rootlessNetnsMounts(paths: RootlessNetnsPaths, view: PluginView): MountSpec[] {
  const run = pluginRunDir(paths);
  const keep = [view.netnsDir, view.cacheDir].filter(underRun).map((source) => {
    const target = join(run, relative("/run", source));
    mkdirSync(source, { recursive: true, mode: 0o700 });
    mkdirSync(target, { recursive: true, mode: 0o700 });
    return { source, target, flags: libc.MS_BIND | libc.MS_REC, fatal: true };
  });
  return [
    { source: null, target: "/", flags: libc.MS_REC | libc.MS_SLAVE, fatal: true },
    ...keep,
    { source: resolvConfPath(paths), target: "/etc/resolv.conf", flags: libc.MS_BIND, fatal: false },
    { source: run, target: "/run", flags: libc.MS_BIND | libc.MS_REC, fatal: true },
    ...(existsSync(SYSTEM_CNI_DIR) ? [{ source: view.cacheDir, target: SYSTEM_CNI_DIR, flags: libc.MS_BIND, fatal: false }] : []),
  ];
}

function mountWarning(err: unknown, mount: MountSpec): void {
  log.debug(`rootless netns: cannot bind ${mount.source} over ${mount.target}: ${errorMessage(err)}`);
}

/** Reads to EOF, then closes: the fd is this process's own end of a pipe. */
async function readAll(fd: number): Promise<string> {
  const reader = Bun.file(fd).stream().getReader();
  const chunks: Uint8Array[] = [];
  try {
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  } finally {
    await reader.cancel().catch(() => {});
    libc.close(fd);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The whole of stdin, then EOF. A plugin reads its config before anything else, so this does not stall. */
function feed(fd: number, data: Uint8Array): void {
  try {
    for (let off = 0; off < data.length; ) off += libc.write(fd, data.subarray(off));
  } catch (err) {
    // EPIPE: the plugin exited without reading; its exit status says why
    log.debug(`writing a CNI plugin's stdin: ${errorMessage(err)}`);
  } finally {
    libc.close(fd);
  }
}

/** Plugins run in the namespace netnsFd refers to; netnsFd must stay open while plugins are started. */
export function rootlessNetnsSpawner(netnsFd: number, mounts: MountSpec[]): ProgramSpawner {
  return (path, stdin, env) => {
    const pipes = [libc.pipe2(), libc.pipe2(), libc.pipe2()] as const;
    const [[inR, inW], [outR, outW], [errR, errW]] = pipes;
    let child: LaunchedProcess;
    try {
      child = launch({
        argv: [path],
        env,
        join: [{ fd: netnsFd, type: "net" }],
        unshare: ["mnt"],
        mounts,
        onMountWarning: mountWarning,
        fds: { 0: inR, 1: outW, 2: errW },
        // as spawnChild: out of reach of a terminal's ^C
        setsid: true,
      });
    } catch (err) {
      for (const fd of [inW, outR, errR]) libc.close(fd);
      throw err;
    } finally {
      for (const fd of [inR, outW, errW]) libc.close(fd);
    }
    feed(inW, stdin);
    return {
      output: Promise.all([readAll(outR), readAll(errR)]).then(([stdout, stderr]) => ({ stdout, stderr })),
      exited: child.exited,
      kill: (signal) => void child.kill(signal),
    };
  };
}

/**
 * How the CNI driver of a rootless user reaches the rootless netns. `run` calls fn with a spawner whose
 * programs run inside it (made first if it is not there), under its lock, so that no other ctrnet process
 * removes it meanwhile and no two plugins' iptables calls run at once; `exists` says whether it is there now.
 */
export function rootlessNetnsAccess(paths: RootlessNetnsPaths, start: StartWayOut, view: PluginView) {
  return {
    run: <T>(fn: (spawn: ProgramSpawner, netnsFd: number) => Promise<T>): Promise<T> =>
      withRootlessNetns(paths, start, async () => {
        const fd = openNetns(paths.netns);
        try {
          return await fn(rootlessNetnsSpawner(fd, rootlessNetnsMounts(paths, view)), fd);
        } finally {
          libc.close(fd);
        }
      }),
    exists: () => netnsUsable(paths.netns),
  };
}

/** `ctrnet rootless-netns enter`: argv in the rootless netns as the plugins see it, with its own /sys; stdio inherited. */
export function enterRootlessNetns(netnsFd: number, mounts: MountSpec[], argv: string[]): LaunchedProcess {
  const path = (process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin").split(":");
  // iptables and ip live in sbin, which Debian leaves out of an unprivileged user's PATH
  const env = { ...process.env, PATH: [...path, ...["/usr/sbin", "/sbin"].filter((d) => !path.includes(d))].join(":") };
  return launch({
    argv,
    env,
    join: [{ fd: netnsFd, type: "net" }],
    unshare: ["mnt"],
    mounts: [...mounts, { source: "sysfs", target: "/sys", fstype: "sysfs", flags: 0, replace: true, fatal: false }],
    onMountWarning: mountWarning,
  });
}
