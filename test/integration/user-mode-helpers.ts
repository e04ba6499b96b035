// What the tests of the user-mode network drivers (slirp4netns, pasta) share, as root through the compiled
// binary: a scratch state and netns dir for ctrnet, commands with them, flag files a command inside waits
// for, the records, the helper processes of this test's containers, and "nothing left".
import { expect } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { isLoopback, readHostEtc } from "../../src/container/dns-files.ts";
import { openState } from "../../src/state/index.ts";
import { BINARY, ctrnet, ensureBinary } from "../helpers/binary.ts";
import { hex } from "./cni-helpers.ts";

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat[stat.lastIndexOf(")") + 2] !== "Z";
  } catch {
    return false;
  }
}

export async function untilGone(pid: number): Promise<boolean> {
  for (const end = Date.now() + 10_000; Date.now() < end; await Bun.sleep(20)) if (!alive(pid)) return true;
  return false;
}

/** Live processes, with their parent and argv. */
function processes(): { pid: number; ppid: number; argv: string[] }[] {
  const out: { pid: number; ppid: number; argv: string[] }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || !alive(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.push({ pid, ppid, argv: readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0") });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** Live processes whose argv starts with `argv`. */
export function commandPids(argv: string[]): number[] {
  const prefix = `${argv.join("\0")}\0`;
  return processes()
    .filter((p) => p.argv.join("\0").startsWith(prefix))
    .map((p) => p.pid);
}

/**
 * One test file's ctrnet: call setUp in beforeAll and tearDown in afterAll. `helper` names the driver's
 * program (slirp4netns, pasta); its processes on this file's netns dir and ctrnet's forwarders count as
 * the file's helpers.
 */
export function userModeSandbox(label: string, helper: string) {
  const id = hex(3);
  const tmp = join(tmpdir(), `ctrnet-${label}-it-${process.pid}-${id}`);
  const dirs = { root: join(tmp, "root"), netns: join(tmp, "netns"), www: join(tmp, "www"), flags: join(tmp, "flags") };
  const env = { CTRNET_ROOT: dirs.root, CTRNET_NETNS_DIR: dirs.netns };
  const netnsDirBefore = process.env.CTRNET_NETNS_DIR;
  const page = `served from ${label} ${id}\n`;

  const listDir = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

  const box = {
    id,
    dirs,
    env,
    page,
    setUp(): void {
      ensureBinary();
      // The leak check in test/preload.ts watches this directory too.
      process.env.CTRNET_NETNS_DIR = dirs.netns;
      for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
      writeFileSync(join(dirs.www, "index.html"), page);
    },
    tearDown(): void {
      try {
        libc.umount2(dirs.netns, libc.MNT_DETACH);
      } catch {
        // never made a mount point
      }
      rmSync(tmp, { recursive: true, force: true });
      if (netnsDirBefore === undefined) delete process.env.CTRNET_NETNS_DIR;
      else process.env.CTRNET_NETNS_DIR = netnsDirBefore;
    },
    cli: (args: string[]) => ctrnet(args, env),
    start: (args: string[]) => Bun.spawn([BINARY, ...args], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" }),
    /** A file the command inside waits for: it ends when the test is done with it, with no signal involved. */
    flag(): { path: string; raise: () => void } {
      const path = join(dirs.flags, hex(4));
      return { path, raise: () => writeFileSync(path, "") };
    },
    records() {
      const state = openState({ root: dirs.root });
      try {
        return state.list();
      } finally {
        state.close();
      }
    },
    /** The driver's program, and ctrnet's forwarders and supervisors, that belong to this file's containers. */
    helperProcesses(): string[] {
      const all = processes();
      const commandOf = new Map(all.map((p) => [p.pid, p.argv.join("\0")]));
      return all
        .filter(({ argv }) => {
          const line = argv.join(" ");
          const ours = argv[0] === BINARY && (argv.includes("_rootlessport") || argv.includes("_supervise"));
          return (argv.some((a) => a.endsWith(helper)) && line.includes(dirs.netns)) || ours;
        })
        // a child a helper forked that has not exec'd yet shows its parent's command line: the supervisor's
        // watchdog did so for tens of ms on a busy machine, read as a second supervisor
        .filter(({ ppid, argv }) => commandOf.get(ppid) !== argv.join("\0"))
        .map(({ pid, argv }) => `${pid} ${argv.join(" ")}`);
    },
    expectNothingLeft(): void {
      expect(box.records()).toEqual([]);
      expect(listDir(dirs.netns)).toEqual([]);
      expect(box.helperProcesses()).toEqual([]);
      expect(listDir(join(dirs.root, "helpers"))).toEqual([]);
    },
  };
  return box;
}

/**
 * The host's nameservers a container reaches (its loopback ones are not; the systemd-resolved stub is
 * followed as ctrnet does): what follows a user-mode stack's DNS forwarder in a container's resolv.conf.
 */
export function hostNameservers(): string[] {
  return readHostEtc().resolvConf.nameservers.filter((ns) => !isLoopback(ns) && !ns.includes("%"));
}
