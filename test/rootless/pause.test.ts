// The pause process that holds the rootless namespace: found again, replaced when its pid file is stale,
// started once by concurrent first commands, and stopped by `ctrnet gc` once nothing uses it.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  alive,
  commandLine,
  ctrnetAsUser,
  pausePid,
  readUntil,
  rootlessUser,
  spawnAsUser,
  spawnCtrnetAsUser,
  stopPause,
  userProcesses,
  waitGone,
} from "../helpers/rootless.ts";

const isRoot = process.getuid?.() === 0;

const pauses = () => userProcesses().filter((p) => p.args.endsWith(" _pause"));

/** Puts text in the pid file as the user's own ctrnet would have left it. */
function writePidFile(text: string): void {
  const { pidFile, uid, gid } = rootlessUser();
  mkdirSync(dirname(pidFile), { recursive: true, mode: 0o700 });
  chownSync(dirname(pidFile), uid, gid);
  writeFileSync(pidFile, text);
  chownSync(pidFile, uid, gid);
}

function unusedPid(): number {
  const max = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8"));
  const taken = new Set(readdirSync("/proc").map(Number));
  for (let pid = max - 1; pid > 300; pid--) if (!taken.has(pid)) return pid;
  throw new Error("no free pid");
}

/** Until no signal is pending for pid: each was then ignored, handled, or has killed it. */
async function signalsTaken(pid: number): Promise<void> {
  const pending = () => /^(ShdPnd|SigPnd):\s*0*[1-9a-f]/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  while (alive(pid) && pending()) await Bun.sleep(5);
}

function userNamespaceOfCommand(): string {
  const r = ctrnetAsUser(["unshare", "readlink", "/proc/self/ns/user"]);
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

describe.skipIf(!isRoot)("the rootless pause process", () => {
  beforeAll(() => {
    rootlessUser();
  });

  beforeEach(async () => {
    await stopPause();
  });

  afterAll(async () => {
    await stopPause();
    expect(userProcesses()).toEqual([]);
  });

  test("a pid file naming a process that is gone is replaced", () => {
    const dead = unusedPid();
    writePidFile(`${dead}\n`);
    const ns = userNamespaceOfCommand();
    const pid = pausePid()!;
    expect(pid).not.toBe(dead);
    expect(commandLine(pid).at(-1)).toBe("_pause");
    expect(ns).toMatch(/^user:\[\d+\]$/);
  });

  test("a pid file naming an unrelated process of the user is replaced, and that process left alone", async () => {
    const other = spawnAsUser(["sleep", "600"]);
    try {
      writePidFile(`${other.pid}\n`);
      userNamespaceOfCommand();
      expect(pausePid()).not.toBe(other.pid);
      expect(alive(other.pid)).toBe(true);
      expect(pauses()).toHaveLength(1);
    } finally {
      other.kill("SIGKILL");
      await other.exited;
    }
  });

  test("a pid file with garbage in it is replaced", () => {
    writePidFile("not a pid");
    userNamespaceOfCommand();
    expect(pauses().map((p) => p.pid)).toEqual([pausePid()!]);
  });

  test("concurrent first commands start one pause process and share its namespace", async () => {
    const procs = Array.from({ length: 4 }, () => spawnCtrnetAsUser(["unshare", "readlink", "/proc/self/ns/user"]));
    const outputs = await Promise.all(procs.map(async (p) => ({ code: await p.exited, out: await new Response(p.stdout).text() })));
    expect(outputs.map((o) => o.code)).toEqual([0, 0, 0, 0]);
    expect(new Set(outputs.map((o) => o.out)).size).toBe(1);
    expect(pauses().map((p) => p.pid)).toEqual([pausePid()!]);
  });

  test("SIGINT and SIGHUP, as a terminal sends, do not stop it", async () => {
    userNamespaceOfCommand();
    const pid = pausePid()!;
    // Its handlers are installed by JS a few ms after it starts (it runs in a session of its own, so no
    // terminal reaches it before then): wait until the kernel lists both signals as caught.
    const caught = () => (Number.parseInt(/^SigCgt:\s*([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "0", 16) & 0x3) === 0x3;
    for (let i = 0; i < 400 && alive(pid) && !caught(); i++) await Bun.sleep(5);
    expect(caught()).toBe(true);
    process.kill(pid, "SIGINT");
    process.kill(pid, "SIGHUP");
    await signalsTaken(pid);
    const ns = userNamespaceOfCommand();
    expect(pausePid()).toBe(pid);
    expect(alive(pid)).toBe(true);
    expect(ns).toBe(readlinkSync(`/proc/${pid}/ns/user`));
  });

  test("ctrnet gc keeps it while a command runs inside, and stops it once nothing uses it", async () => {
    const inside = spawnCtrnetAsUser(["unshare", "--", "sh", "-c", "echo ready; exec sleep 600"]);
    let pid: number;
    try {
      const { text } = await readUntil(inside.stdout, "ready\n");
      expect(text).toBe("ready\n");
      pid = pausePid()!;
      const kept = ctrnetAsUser(["gc"]);
      expect(kept.stderr).toBe("");
      expect(kept.code).toBe(0);
      expect(alive(pid)).toBe(true);
    } finally {
      inside.kill("SIGTERM");
      await inside.exited;
    }
    const gc = ctrnetAsUser(["gc"]);
    expect(gc.stderr).toBe("");
    expect(gc.code).toBe(0);
    expect(await waitGone(pid)).toBe(true);
    expect(pausePid()).toBeUndefined();
    expect(userProcesses()).toEqual([]);
  });
});
