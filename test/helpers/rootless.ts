// The unprivileged user the rootless tests run dist/ctrnet as, set up from scratch when missing (CI starts
// from a fresh machine): the account, subordinate id ranges, /dev/net/tun, and a login-free
// XDG_RUNTIME_DIR. Under the test runner /run is a private tmpfs, so the runtime dir made here is private
// to the run too.
import type { Subprocess } from "bun";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, type CliResult, ensureBinary } from "./binary.ts";

export const TEST_USER = "ctrnet-test";
const SUB_ID_COUNT = 65536;
const FIRST_SUB_ID = 100000;
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  runtimeDir: string;
  /** dist/ctrnet, or a copy the user can execute when the checkout is not reachable for it. */
  binary: string;
  pidFile: string;
}

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv, { env: { PATH }, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim() || `exit ${r.exitCode}`}`);
  return r.stdout.toString();
}

function account(name: string): { uid: number; gid: number; home: string } | undefined {
  const line = readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid, , home] = line.split(":");
  return { uid: Number(uid), gid: Number(gid), home: home! };
}

/** Appends a range after every range already given out, so it never overlaps another user's. */
function ensureSubIds(file: string, name: string): void {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const lines = text.split("\n").filter(Boolean);
  if (lines.some((l) => l.startsWith(`${name}:`))) return;
  const start = lines.reduce((max, l) => {
    const [, s, c] = l.split(":").map(Number);
    return Number.isFinite(s) && Number.isFinite(c) ? Math.max(max, s! + c!) : max;
  }, FIRST_SUB_ID);
  const prefix = text === "" || text.endsWith("\n") ? text : `${text}\n`;
  writeFileSync(file, `${prefix}${name}:${start}:${SUB_ID_COUNT}\n`);
}

function ensureTun(): void {
  if (!existsSync("/dev/net/tun")) {
    mkdirSync("/dev/net", { recursive: true });
    run(["mknod", "/dev/net/tun", "c", "10", "200"]);
  }
  chmodSync("/dev/net/tun", 0o666);
}

/** What pam_systemd would make at login: /run/user/UID, 0700, the user's. */
function ensureRuntimeDir(uid: number, gid: number): string {
  const dir = `/run/user/${uid}`;
  mkdirSync("/run/user", { recursive: true, mode: 0o755 });
  if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  // the user's BUN_TMPDIR (userEnv): Bun's FFI compiler headers stay out of /tmp
  const bunTmp = `${dir}/bun-tmp`;
  mkdirSync(bunTmp, { recursive: true, mode: 0o700 });
  chownSync(bunTmp, uid, gid);
  return dir;
}

function asUser(user: { uid: number; gid: number }, argv: string[]): string[] {
  // setpriv execs the command in its own place, so the pid a test gets (and signals) is ctrnet's own;
  // runuser would stay in between as a parent that passes on only some signals.
  return ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--", ...argv];
}

function userBinary(user: { uid: number; gid: number }): string {
  ensureBinary();
  const r = Bun.spawnSync(asUser(user, ["test", "-x", BINARY]), { env: { PATH }, stdout: "ignore", stderr: "ignore" });
  if (r.exitCode === 0) return BINARY;
  const dir = mkdtempSync(join(tmpdir(), "ctrnet-rootless-bin-"));
  chmodSync(dir, 0o755);
  const copy = join(dir, "ctrnet");
  copyFileSync(BINARY, copy);
  chmodSync(copy, 0o755);
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return copy;
}

let cached: RootlessUser | undefined;

/** Sets everything up once per test process (idempotent across runs); needs root. */
export function rootlessUser(): RootlessUser {
  if (cached) return cached;
  if (!account(TEST_USER)) run(["useradd", "-m", "-s", "/bin/sh", TEST_USER]);
  const acct = account(TEST_USER)!;
  ensureSubIds("/etc/subuid", TEST_USER);
  ensureSubIds("/etc/subgid", TEST_USER);
  ensureTun();
  const runtimeDir = ensureRuntimeDir(acct.uid, acct.gid);
  mkdirSync(acct.home, { recursive: true, mode: 0o755 });
  chownSync(acct.home, acct.uid, acct.gid);
  cached = {
    name: TEST_USER,
    ...acct,
    runtimeDir,
    binary: userBinary(acct),
    pidFile: join(runtimeDir, "ctrnet", "pause.pid"),
  };
  return cached;
}

export interface UserRunOptions {
  stdin?: string | Uint8Array;
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * A login-like environment: nothing of the test process's own leaks into the user's commands. The user's
 * configuration (network conflists in ~/.config/cni/net.d) goes under its runtime dir, which the runner's
 * private tmpfs /run drops after the run, so no test leaves files in the user's real home.
 */
export function userEnv(user: RootlessUser, extra: Record<string, string> = {}): Record<string, string> {
  const config = `${user.runtimeDir}/config`;
  const bunTmp = `${user.runtimeDir}/bun-tmp`;
  return { PATH, HOME: user.home, XDG_RUNTIME_DIR: user.runtimeDir, XDG_CONFIG_HOME: config, BUN_TMPDIR: bunTmp, SHELL: "/bin/sh", LANG: "C", ...extra };
}

/** `ctrnet ARGS…` as the user, to completion. */
export function ctrnetAsUser(args: string[], opts: UserRunOptions = {}): CliResult {
  const user = rootlessUser();
  const r = Bun.spawnSync(asUser(user, [user.binary, ...args]), {
    env: userEnv(user, opts.env),
    cwd: opts.cwd ?? user.home,
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** `ctrnet ARGS…` as the user, running on; stdout and stderr piped. The pid is ctrnet's. */
export function spawnCtrnetAsUser(args: string[], opts: Omit<UserRunOptions, "stdin"> = {}): Subprocess<"ignore", "pipe", "pipe"> {
  const user = rootlessUser();
  return Bun.spawn(asUser(user, [user.binary, ...args]), {
    env: userEnv(user, opts.env),
    cwd: opts.cwd ?? user.home,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** Any other command as the user, running on (e.g. an unrelated process of theirs). */
export function spawnAsUser(argv: string[]): Subprocess<"ignore", "ignore", "ignore"> {
  const user = rootlessUser();
  return Bun.spawn(asUser(user, argv), { env: userEnv(user), cwd: user.home, stdin: "ignore", stdout: "ignore", stderr: "ignore" });
}

export function pausePid(): number | undefined {
  try {
    return Number(readFileSync(rootlessUser().pidFile, "utf8").trim()) || undefined;
  } catch {
    return undefined;
  }
}

function procStat(pid: number): { state: string; uid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const uid = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^Uid:\s+(\d+)/m)?.[1]);
    return { state: stat[stat.lastIndexOf(")") + 2]!, uid };
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== "Z";
}

export function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, -1);
  } catch {
    return [];
  }
}

/**
 * Live processes of the user in this test run's network namespace: the pause process keeps the one it
 * started in, so this sees it, and not what other runs on the machine started as the same user.
 */
export function userProcesses(): { pid: number; args: string }[] {
  const { uid } = rootlessUser();
  const mine = readlinkSync("/proc/self/ns/net");
  const out: { pid: number; args: string }[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const s = procStat(pid);
    if (!s || s.uid !== uid || s.state === "Z") continue;
    try {
      if (readlinkSync(`/proc/${pid}/ns/net`) !== mine) continue;
    } catch {
      continue;
    }
    out.push({ pid, args: commandLine(pid).join(" ") });
  }
  return out;
}

export async function waitGone(pid: number, timeoutMs = 5000): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await Bun.sleep(10)) if (!alive(pid)) return true;
  return !alive(pid);
}

/**
 * Stops the pause process the pid file names (only if it is one: pid files are what the tests tamper
 * with) and removes the file. For afterAll: the pause process is detached on purpose, so the per-test
 * leak check, which follows this process's descendants, cannot see it.
 */
export async function stopPause(): Promise<void> {
  const pid = pausePid();
  if (pid !== undefined && commandLine(pid).at(-1) === "_pause" && procStat(pid)?.uid === rootlessUser().uid) {
    process.kill(pid, "SIGTERM");
    if (!(await waitGone(pid))) throw new Error(`pause process ${pid} did not stop`);
  }
  rmSync(rootlessUser().pidFile, { force: true });
}

/** Reads a child's output until it has printed `marker`; rest() reads what follows, to the end. */
export async function readUntil(stream: ReadableStream<Uint8Array>, marker: string): Promise<{ text: string; rest: () => Promise<string> }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const next = async (): Promise<boolean> => {
    const { value, done } = await reader.read();
    if (!done) text += decoder.decode(value, { stream: true });
    return !done;
  };
  while (!text.includes(marker) && (await next()));
  const upToMarker = text;
  return {
    text: upToMarker,
    rest: async () => {
      while (await next());
      return text.slice(upToMarker.length);
    },
  };
}

/**
 * A directory for a rootless suite, removed with `rmSync(dir, { recursive: true })`: `www` holds a page the
 * user can read and serve (and nothing there is writable), `scratch` is the user's own to write.
 */
export function userSite(prefix: string, page: string): { dir: string; www: string; scratch: string } {
  const user = rootlessUser();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const www = join(dir, "www");
  mkdirSync(www);
  writeFileSync(join(www, "index.html"), page);
  for (const p of [dir, www]) chmodSync(p, 0o755);
  chmodSync(join(www, "index.html"), 0o644);
  const scratch = join(dir, "scratch");
  mkdirSync(scratch, { mode: 0o700 });
  chownSync(scratch, user.uid, user.gid);
  return { dir, www, scratch };
}
