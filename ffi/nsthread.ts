// Network namespace work that must not leave the JS thread in another namespace. Where the JS thread can
// always come back (root of the initial user namespace, which has CAP_SYS_ADMIN over every network
// namespace, its own included), it enters, does its one thing and returns to its own netns at once, with
// no event-loop turn in between, so nothing else of this process ever runs in the foreign namespace: the
// netavark way, and no compile or thread. Anywhere else (inside a user namespace, where setns back into
// the host's netns is refused) a disposable C thread enters and never comes back (see nsthread.c),
// compiled on first use in a few milliseconds.
import { statSync } from "./fs.ts";
import { embedC } from "./compile.ts";
import { isSysError, SysError } from "./errno.ts";
import * as libc from "./libc.ts";
import source from "./nsthread.c" with { type: "text" };

const nsthread = embedC("nsthread.c", source, {
  nsthread_socket: { args: ["i32", "i32", "i32", "i32", "ptr"], returns: "i32" },
  nsthread_create_netns: { args: ["ptr", "i32", "ptr"], returns: "i32" },
  nsthread_open: { args: ["i32", "ptr", "i32", "ptr"], returns: "i32" },
});

// Steps as numbered in nsthread.c.
const STEP_NAMES: Record<number, string> = { 1: "pthread_create", 2: "setns", 3: "socket", 4: "unshare", 5: "mount", 6: "open", 7: "ioctl", 8: "write" };

/** What createNetnsAt does in a new namespace before it is mounted. */
export interface NewNetnsSetup {
  /** lo up. */
  loopbackUp?: boolean;
  /**
   * net.ipv6.conf.default.autoconf = 0, so the interfaces made there later take no address from a router
   * advertisement (netavark's manual IPv6 config only). No IPv6 or a read-only /proc/sys is no error.
   */
  ipv6AutoconfOff?: boolean;
}

// The bits of nsthread.c's NEW_*.
const NEW_LOOPBACK_UP = 1;
const NEW_IPV6_AUTOCONF_OFF = 2;
const AUTOCONF_DEFAULT = "/proc/sys/net/ipv6/conf/default/autoconf";
const ZERO = new Uint8Array([0x30]); // "0"

/** NewNetnsSetup's steps on this thread, which is in the new namespace. */
function setUpNew(setup: NewNetnsSetup): void {
  if (setup.loopbackUp) {
    const sock = libc.socket(libc.AF_INET, libc.SOCK_DGRAM, 0);
    try {
      libc.linkUp(sock, "lo");
    } finally {
      libc.close(sock);
    }
  }
  if (setup.ipv6AutoconfOff) {
    let fd: number;
    try {
      fd = libc.open(AUTOCONF_DEFAULT, libc.O_WRONLY);
    } catch (err) {
      if (isSysError(err, "ENOENT") || isSysError(err, "EROFS")) return;
      throw err;
    }
    try {
      libc.write(fd, ZERO);
    } finally {
      libc.close(fd);
    }
  }
}

/** The initial user namespace's inode (PROC_USER_INIT_INO), the same on every Linux. */
const INIT_USER_NS = 0xeffffffd;

let home: number | null | undefined;

/**
 * An fd of this thread's own network namespace when the JS thread may leave it and come back (root in
 * the initial user namespace), opened once; null otherwise.
 */
function homeNetns(): number | null {
  if (home === undefined) {
    let mayReturn = false;
    try {
      mayReturn = libc.geteuid() === 0 && statSync("/proc/self/ns/user").ino === INIT_USER_NS;
    } catch {
      // no /proc/self/ns: the thread way, which says what is wrong
    }
    home = mayReturn ? libc.open("/proc/thread-self/ns/net", libc.O_RDONLY) : null;
  }
  return home;
}

/** Whether netns work runs on the calling thread (root of the initial user namespace), not on a C thread. */
export function entersOnThisThread(): boolean {
  return homeNetns() !== null;
}

/** enter(), then work() in the namespace entered, then back home whatever happened; work's result. */
function visit<T>(homeFd: number, enter: () => void, work: () => T): T {
  enter();
  try {
    return work();
  } finally {
    try {
      libc.setns(homeFd, libc.CLONE_NEWNET);
    } catch (err) {
      // cannot happen to root of the initial user namespace; were it to, this thread would do everything
      // that follows in another netns: stop here instead
      process.stderr.write(`ctrnet: cannot return to its own network namespace: ${err instanceof Error ? err.message : String(err)}\n`);
      process.abort();
    }
  }
}

function check(ret: number, step: Int32Array, detail: (syscall: string) => string): number {
  if (ret >= 0) return ret;
  const syscall = STEP_NAMES[step[0]!] ?? `nsthread step ${step[0]}`;
  throw new SysError(syscall, -ret, detail(syscall));
}

/** The SysError the thread way would give for a failed step, with the same detail. */
function asStep(err: unknown, detail: (syscall: string) => string): unknown {
  if (!(err instanceof SysError)) return err;
  return new SysError(err.syscall, err.errno, detail(err.syscall));
}

/** A close-on-exec socket created inside the network namespace nsFd refers to; this thread ends up where it was. */
export function socketInNetns(nsFd: number, domain: number, type: number, protocol: number): number {
  const detail = (syscall: string) => (syscall === "socket" ? `domain ${domain} protocol ${protocol} in netns fd ${nsFd}` : `netns fd ${nsFd}`);
  const homeFd = homeNetns();
  if (homeFd !== null) {
    try {
      return visit(homeFd, () => libc.setns(nsFd, libc.CLONE_NEWNET), () => libc.socket(domain, type, protocol));
    } catch (err) {
      throw asStep(err, detail);
    }
  }
  const step = new Int32Array(1);
  return check(nsthread().nsthread_socket(nsFd, domain, type, protocol, step), step, detail);
}

/**
 * A new network namespace, set up as setup says, then bind-mounted onto path (an existing file); this
 * thread ends up where it was. A failed setup step leaves nothing: the namespace is not mounted yet.
 */
export function createNetnsAt(path: string, setup: NewNetnsSetup = {}): void {
  const detail = (syscall: string) => {
    switch (syscall) {
      case "mount":
        return `new network namespace on ${path}`;
      case "socket":
      case "ioctl":
        return "lo up in the new network namespace";
      case "open":
      case "write":
        return `${AUTOCONF_DEFAULT} = 0 in the new network namespace`;
      default:
        return "network namespace";
    }
  };
  const homeFd = homeNetns();
  if (homeFd !== null) {
    try {
      visit(
        homeFd,
        () => libc.unshare(libc.CLONE_NEWNET),
        () => {
          setUpNew(setup);
          libc.mount("/proc/thread-self/ns/net", path, null, libc.MS_BIND);
        },
      );
      return;
    } catch (err) {
      throw asStep(err, detail);
    }
  }
  const step = new Int32Array(1);
  const bits = (setup.loopbackUp ? NEW_LOOPBACK_UP : 0) | (setup.ipv6AutoconfOff ? NEW_IPV6_AUTOCONF_OFF : 0);
  check(nsthread().nsthread_create_netns(Buffer.from(`${path}\0`, "utf8"), bits, step), step, detail);
}

/**
 * A close-on-exec fd of path opened from inside the network namespace nsFd refers to, for files whose
 * meaning depends on the opener's netns (/proc/sys/net/*); this thread ends up where it was.
 */
export function openInNetns(nsFd: number, path: string, flags: number): number {
  const detail = (syscall: string) => (syscall === "open" ? `${path} in netns fd ${nsFd}` : `netns fd ${nsFd}`);
  const homeFd = homeNetns();
  if (homeFd !== null) {
    try {
      return visit(homeFd, () => libc.setns(nsFd, libc.CLONE_NEWNET), () => libc.open(path, flags));
    } catch (err) {
      throw asStep(err, detail);
    }
  }
  const step = new Int32Array(1);
  return check(nsthread().nsthread_open(nsFd, Buffer.from(`${path}\0`, "utf8"), flags, step), step, detail);
}
