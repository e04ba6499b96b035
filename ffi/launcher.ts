// Starts programs inside new or existing namespaces through the C launcher (see launcher.c for why Bun
// cannot do this itself), and waits for them without blocking the event loop.
import { ptr } from "bun:ffi";
import { writeFileSync } from "./fs.ts";
import { embedC } from "./compile.ts";
import { errnoNumber, isSysError, SysError } from "./errno.ts";
import * as libc from "./libc.ts";
import { SIGNAL_NUMBERS, signalNumber } from "./signals.ts";
// Imported as text: inside a compiled binary cc cannot read a file from /$bunfs/.
import source from "./launcher.c" with { type: "text" };

/** Compiled on first use only: TinyCC takes milliseconds that most commands never need to pay. */
const launcher = embedC("launcher.c", source, {
  launcher_spawn: { args: ["ptr", "ptr"], returns: "i32" },
  launcher_reap: { args: ["i32"], returns: "i32" },
  launcher_watch: { args: ["i32", "i32"], returns: "i32" },
  launcher_signal: { args: ["i32", "i32"], returns: "i32" },
});

export type NamespaceType = "user" | "mnt" | "net" | "ipc" | "uts" | "pid" | "cgroup";

const NAMESPACES: Record<NamespaceType, { flag: number; name: string }> = {
  user: { flag: libc.CLONE_NEWUSER, name: "user namespace" },
  mnt: { flag: libc.CLONE_NEWNS, name: "mount namespace" },
  net: { flag: libc.CLONE_NEWNET, name: "network namespace" },
  ipc: { flag: libc.CLONE_NEWIPC, name: "ipc namespace" },
  uts: { flag: libc.CLONE_NEWUTS, name: "uts namespace" },
  pid: { flag: libc.CLONE_NEWPID, name: "pid namespace" },
  cgroup: { flag: libc.CLONE_NEWCGROUP, name: "cgroup namespace" },
};

export interface LaunchOptions {
  /** argv[0] is looked up in env.PATH unless it contains a slash. */
  argv: string[];
  /** The child's whole environment; defaults to this process's. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Existing namespaces to enter, as open fds; the user namespace is always entered first. */
  join?: { fd: number; type: NamespaceType }[];
  /** New namespaces, created after joining. */
  unshare?: NamespaceType[];
  /** Child fd number -> fd of this process to place there. Everything not listed (but 0-2) is closed on exec. */
  fds?: Record<number, number>;
  /** Signal the child receives when this process dies. */
  pdeathsig?: NodeJS.Signals;
  /** Stop after the namespaces are set up until `go()`, e.g. to write uid/gid maps first. */
  hold?: boolean;
  /** A new session: no terminal's signals (Ctrl-C, hangup, job control) reach the child. */
  setsid?: boolean;
  /** Made in this order after `unshare`, e.g. in a new mount namespace. */
  mounts?: MountSpec[];
  /** sethostname(2) after `unshare` (which should include "uts"), before the mounts. */
  hostname?: string;
  /** Told of each failed mount that is not `fatal`; the launch goes on. */
  onMountWarning?: (err: SysError, mount: MountSpec) => void;
}

export interface MountSpec {
  /** null: no source, e.g. when only the propagation changes. */
  source: string | null;
  target: string;
  fstype?: string;
  /** mount(2) flags (MS_*). */
  flags: number;
  /** Detach what is mounted at target first; what cannot be detached stays underneath and is mounted over read-only. */
  replace?: boolean;
  /** A failure stops the launch with a SysError naming the mount; otherwise it goes to onMountWarning. */
  fatal: boolean;
}

type Joined = NonNullable<LaunchOptions["join"]>;

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const MAX_FDS = 64; // MAX_PASSED_FDS in launcher.c
// A child that is not held writes every record before its parent reads one (launcher.c): they must fit in a
// pipe of one page, 4096 bytes, at 12 bytes a record and two records more than the mounts.
const MAX_MOUNTS = 256;
const MOUNT_OP_FIELDS = 6; // struct mount_op in launcher.c
const RECORD_BYTES = 12;
const ESRCH = errnoNumber("ESRCH");
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(SIGNAL_NUMBERS).map(([name, num]) => [num, name as NodeJS.Signals]));

// Steps as numbered in launcher.c.
const STEP_READY = 0;
const STEP_PDEATHSIG = 1;
const STEP_SETNS = 2;
const STEP_UNSHARE = 3;
const STEP_FDS = 4;
const STEP_CHDIR = 5;
const STEP_EXECVE = 6;
const STEP_SETSID = 7;
const STEP_MOUNT = 8;
const STEP_MOUNT_WARNING = 9;
const STEP_HOSTNAME = 10;

const mountError = (errno: number, m: MountSpec): SysError => new SysError("mount", errno, `${m.source ?? "none"} on ${m.target}`);

function describeFailure(step: number, index: number, errno: number, opts: LaunchOptions, path: string, joined: Joined): SysError {
  switch (step) {
    case STEP_PDEATHSIG:
      return new SysError("prctl", errno, "PR_SET_PDEATHSIG");
    case STEP_SETNS:
      return new SysError("setns", errno, NAMESPACES[joined[index]!.type].name);
    case STEP_UNSHARE:
      return new SysError("unshare", errno, (opts.unshare ?? []).map((t) => NAMESPACES[t].name).join(", "));
    case STEP_FDS:
      return new SysError("dup2", errno, Object.entries(opts.fds ?? {}).map(([c, p]) => `fd ${p} to ${c}`).join(", "));
    case STEP_CHDIR:
      return new SysError("chdir", errno, opts.cwd);
    case STEP_EXECVE:
      return new SysError("execve", errno, path);
    case STEP_SETSID:
      return new SysError("setsid", errno);
    case STEP_MOUNT:
      return mountError(errno, opts.mounts![index]!);
    case STEP_HOSTNAME:
      return new SysError("sethostname", errno, opts.hostname);
    default:
      return new SysError(`launcher step ${step}`, errno);
  }
}

/** Builds launch_spec (launcher.c); `keep` holds every buffer a pointer refers to until the child is started. */
function buildSpec(opts: LaunchOptions, path: string, joined: Joined, keep: unknown[]): BigInt64Array {
  const cString = (s: string): bigint => {
    const buf = Buffer.from(`${s}\0`, "utf8");
    keep.push(buf);
    return BigInt(ptr(buf));
  };
  const array = (values: bigint[]): bigint => {
    if (values.length === 0) return 0n;
    const arr = new BigInt64Array(values);
    keep.push(arr);
    return BigInt(ptr(arr));
  };
  const env = Object.entries(opts.env ?? process.env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  const fds = Object.entries(opts.fds ?? {}).flatMap(([child, parent]) => [BigInt(parent), BigInt(child)]);
  const mounts = (opts.mounts ?? []).flatMap((m) => [
    m.source === null ? 0n : cString(m.source),
    cString(m.target),
    m.fstype === undefined ? 0n : cString(m.fstype),
    BigInt(m.flags),
    m.replace ? 1n : 0n,
    m.fatal ? 1n : 0n,
  ]);
  const spec = new BigInt64Array([
    cString(path),
    array([...opts.argv.map(cString), 0n]),
    array([...env.map(cString), 0n]),
    opts.cwd === undefined ? 0n : cString(opts.cwd),
    array(joined.flatMap((ns) => [BigInt(ns.fd), BigInt(NAMESPACES[ns.type].flag)])),
    BigInt(joined.length),
    BigInt((opts.unshare ?? []).reduce((flags, t) => flags | NAMESPACES[t].flag, 0)),
    array(fds),
    BigInt(fds.length / 2),
    BigInt(opts.pdeathsig ? signalNumber(opts.pdeathsig) : 0),
    opts.setsid ? 1n : 0n,
    array(mounts),
    BigInt(mounts.length / MOUNT_OP_FIELDS),
    opts.hold ? 1n : 0n,
    opts.hostname === undefined ? 0n : cString(opts.hostname),
    BigInt(opts.hostname === undefined ? 0 : Buffer.byteLength(opts.hostname)),
  ]);
  keep.push(spec);
  return spec;
}

function resolveProgram(argv0: string, env: Record<string, string | undefined>, cwd?: string): string {
  if (argv0.includes("/")) return argv0;
  return Bun.which(argv0, { PATH: env.PATH ?? "/usr/local/bin:/usr/bin:/bin", cwd }) ?? argv0;
}

/** Reads one record from the child; null at EOF, i.e. after a successful execve or a silent exit. */
function readRecord(fd: number): { step: number; index: number; errno: number } | null {
  const buf = new Int32Array(RECORD_BYTES / 4);
  const bytes = new Uint8Array(buf.buffer);
  let got = 0;
  while (got < RECORD_BYTES) {
    let n: number;
    try {
      n = libc.read(fd, bytes.subarray(got));
    } catch (err) {
      if (isSysError(err, "EINTR")) continue;
      throw err;
    }
    if (n === 0) return null;
    got += n;
  }
  return { step: buf[0]!, index: buf[1]!, errno: buf[2]! };
}

function decodeStatus(status: number): ExitStatus {
  const signal = status & 0x7f;
  if (signal === 0) return { code: (status >> 8) & 0xff, signal: null };
  return { code: null, signal: SIGNAL_NAMES.get(signal) ?? (`SIG${signal}` as NodeJS.Signals) };
}

export interface LaunchedProcess {
  readonly pid: number;
  /** Releases a held child and returns once it has exec'd; throws the step it failed on. */
  go(): void;
  kill(signal?: NodeJS.Signals | number): boolean;
  /**
   * Resolves when the child exits. Started on first use: until then nothing keeps the event loop alive
   * for this child, and a child left running outlives this process as an orphan.
   */
  readonly exited: Promise<ExitStatus>;
}

type Describe = (step: number, index: number, errno: number) => SysError;
type Warn = (index: number, errno: number) => void;

class Child implements LaunchedProcess {
  #statusFd: number;
  #goFd: number;
  #pidfd: number;
  #exited: Promise<ExitStatus> | undefined;
  #done = false;

  constructor(
    readonly pid: number,
    fds: Int32Array,
    private readonly describe: Describe,
    private readonly warn: Warn,
  ) {
    this.#statusFd = fds[0]!;
    this.#goFd = fds[1]!;
    this.#pidfd = fds[2]!;
  }

  /** Waits for the child to finish setting up its namespaces; throws what it failed on. */
  ready(): void {
    let rec = readRecord(this.#statusFd);
    for (; rec?.step === STEP_MOUNT_WARNING; rec = readRecord(this.#statusFd)) this.warn(rec.index, rec.errno);
    if (rec?.step === STEP_READY) return;
    this.#failed(rec);
  }

  go(): void {
    if (this.#goFd < 0) throw new Error(`launcher: child ${this.pid} was already released`);
    libc.write(this.#goFd, new Uint8Array([1]));
    libc.close(this.#goFd);
    this.#goFd = -1;
    this.execed();
  }

  /** Returns once a released child has exec'd; throws what it failed on. */
  execed(): void {
    const rec = readRecord(this.#statusFd);
    if (rec) this.#failed(rec);
    libc.close(this.#statusFd);
    this.#statusFd = -1;
  }

  kill(signal: NodeJS.Signals | number = "SIGTERM"): boolean {
    if (this.#done) return false;
    const sig = typeof signal === "number" ? signal : signalNumber(signal);
    if (this.#pidfd < 0) {
      libc.kill(this.pid, sig);
      return true;
    }
    const ret = launcher().launcher_signal(this.#pidfd, sig);
    if (ret === -ESRCH) return false;
    if (ret < 0) throw new SysError("pidfd_send_signal", -ret, `pid ${this.pid}`);
    return true;
  }

  get exited(): Promise<ExitStatus> {
    this.#exited ??= this.#watch();
    return this.#exited;
  }

  async #watch(): Promise<ExitStatus> {
    const [readFd, writeFd] = libc.pipe2();
    const ret = launcher().launcher_watch(this.pid, writeFd);
    if (ret < 0) {
      libc.close(readFd);
      libc.close(writeFd);
      throw new SysError("pthread_create", -ret, `waiting for pid ${this.pid}`);
    }
    // Read exactly the 4-byte status, not to EOF: a child forked meanwhile may hold a copy of the write end.
    const reader = Bun.file(readFd).stream().getReader();
    const chunks: Uint8Array[] = [];
    let length = 0;
    try {
      while (length < 4) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
        length += value.byteLength;
      }
    } finally {
      await reader.cancel();
      libc.close(readFd);
    }
    const status = Buffer.concat(chunks).readInt32LE(0);
    this.#finish();
    if (status < 0) throw new SysError("waitpid", -status, `pid ${this.pid}`);
    return decodeStatus(status);
  }

  #finish(): void {
    this.#done = true;
    for (const fd of [this.#statusFd, this.#goFd, this.#pidfd]) if (fd >= 0) libc.close(fd);
    this.#statusFd = this.#goFd = this.#pidfd = -1;
  }

  #failed(rec: { step: number; index: number; errno: number } | null): never {
    const status = launcher().launcher_reap(this.pid);
    this.#exited = Promise.resolve(decodeStatus(status));
    this.#finish();
    if (rec) throw this.describe(rec.step, rec.index, rec.errno);
    throw new Error(`launcher: child ${this.pid} exited before it was ready (${JSON.stringify(decodeStatus(status))})`);
  }
}

/**
 * Starts a child that enters `join`, unshares `unshare`, makes `mounts`, with `hold` waits for the go-ahead,
 * places `fds`, changes to `cwd` and execs `argv`. Returns once the child has exec'd, or, with `hold`, once
 * its namespaces exist; throws a SysError naming the step the child failed on.
 */
export function launch(opts: LaunchOptions): LaunchedProcess {
  if (opts.argv.length === 0) throw new Error("launch: argv must not be empty");
  if (Object.keys(opts.fds ?? {}).length > MAX_FDS) throw new Error(`launch: at most ${MAX_FDS} fds can be passed`);
  if ((opts.mounts?.length ?? 0) > MAX_MOUNTS) throw new Error(`launch: at most ${MAX_MOUNTS} mounts can be made`);
  const env = opts.env ?? process.env;
  const path = resolveProgram(opts.argv[0]!, env, opts.cwd);
  const joined = [...(opts.join ?? [])].sort((a, b) => Number(b.type === "user") - Number(a.type === "user"));
  const keep: unknown[] = [];
  const spec = buildSpec(opts, path, joined, keep);
  const out = new Int32Array(3);
  const pid = launcher().launcher_spawn(spec, out);
  keep.length = 0; // a use after the call, so the buffers the spec points into stay alive through it
  if (pid < 0) throw new SysError(opts.hold ? "fork" : "clone", -pid);

  const child = new Child(
    pid,
    out,
    (step, index, errno) => describeFailure(step, index, errno, opts, path, joined),
    (index, errno) => {
      const mount = opts.mounts![index]!;
      opts.onMountWarning?.(mountError(errno, mount), mount);
    },
  );
  child.ready();
  // Not held, the child never waited for a go-ahead: it has exec'd or failed already.
  if (!opts.hold) child.execed();
  return child;
}

export interface IdMapping {
  inside: number;
  outside: number;
  count: number;
}

export interface IdMaps {
  uidMap?: IdMapping[];
  gidMap?: IdMapping[];
  /** "deny" is required before an unprivileged process may write gid_map. */
  setgroups?: "allow" | "deny";
}

const mapText = (mappings: IdMapping[]): string => mappings.map((m) => `${m.inside} ${m.outside} ${m.count}\n`).join("");

/** Writes /proc/PID/{setgroups,uid_map,gid_map} directly: enough for a single id or for root. */
export function writeIdMaps(pid: number, maps: IdMaps): void {
  if (maps.setgroups) writeProcFile(pid, "setgroups", maps.setgroups);
  if (maps.uidMap) writeProcFile(pid, "uid_map", mapText(maps.uidMap));
  if (maps.gidMap) writeProcFile(pid, "gid_map", mapText(maps.gidMap));
}

// The kernel takes a map in a single write(2), which writeFileSync does for a buffer this small.
function writeProcFile(pid: number, name: string, text: string): void {
  const path = `/proc/${pid}/${name}`;
  try {
    writeFileSync(path, text);
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).errno;
    throw errno === undefined ? err : new SysError("write", Math.abs(errno), path);
  }
}

/** Maps ranges through the setuid helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid. */
export async function newIdMap(binary: string, pid: number, mappings: IdMapping[]): Promise<void> {
  const args = mappings.flatMap((m) => [m.inside, m.outside, m.count].map(String));
  const proc = Bun.spawn([binary, String(pid), ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) {
    const reason = stderr.trim().split("\n").pop() || `exit status ${code}`;
    throw new Error(`${binary} ${pid} ${args.join(" ")}: ${reason}`);
  }
}
