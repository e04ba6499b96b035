// `ctrnet unshare` as an unprivileged user: the command runs as root of the rootless user namespace,
// and the re-execution through it is transparent (arguments, stdio, cwd, exit status, signals).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { ctrnet } from "../helpers/binary.ts";
import { ctrnetAsUser, pausePid, readUntil, rootlessUser, spawnCtrnetAsUser, stopPause, userProcesses } from "../helpers/rootless.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("ctrnet unshare as a rootless user", () => {
  beforeAll(async () => {
    rootlessUser();
    await stopPause();
  });

  afterAll(async () => {
    await stopPause();
    expect(userProcesses()).toEqual([]);
  });

  test("commands that need no namespace do not start the pause process", () => {
    const r = ctrnetAsUser(["version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("ctrnet version ");
    expect(ctrnetAsUser(["unshare", "--help"]).code).toBe(0);
    expect(pausePid()).toBeUndefined();
  });

  test("the command runs as root of a user namespace mapping the user and its subordinate ids", () => {
    const { uid } = rootlessUser();
    const r = ctrnetAsUser(["unshare", "--", "sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [id, gid, ...maps] = r.stdout.trim().split("\n");
    expect([id, gid]).toEqual(["0", "0"]);
    const rows = maps.map((l) => l.trim().split(/\s+/));
    expect(rows[0]).toEqual(["0", String(uid), "1"]);
    expect(rows[1]).toEqual(["1", "100000", "65536"]);
    expect(rows).toHaveLength(4);
  });

  test("a second command reuses the same pause process and namespaces", () => {
    const first = ctrnetAsUser(["unshare", "readlink", "/proc/self/ns/user", "/proc/self/ns/mnt"]);
    const pid = pausePid();
    const second = ctrnetAsUser(["unshare", "readlink", "/proc/self/ns/user", "/proc/self/ns/mnt"]);
    expect(first.code).toBe(0);
    expect(pid).toBeDefined();
    expect(pausePid()).toBe(pid!);
    expect(second.stdout).toBe(first.stdout);
    expect(first.stdout.trim().split("\n")).toEqual([readlinkSync(`/proc/${pid}/ns/user`), readlinkSync(`/proc/${pid}/ns/mnt`)]);
  });

  test("the pause process has its own session and holds none of the caller's stdio", () => {
    ctrnetAsUser(["unshare", "true"]);
    const pid = pausePid()!;
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const sessionId = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
    expect(sessionId).toBe(pid);
    for (const fd of [0, 1, 2]) expect(readlinkSync(`/proc/${pid}/fd/${fd}`)).toBe("/dev/null");
  });

  test("the exit status passes through, and a command killed by a signal gives 128 + its number", () => {
    expect(ctrnetAsUser(["unshare", "--", "sh", "-c", "exit 5"]).code).toBe(5);
    expect(ctrnetAsUser(["unshare", "--", "sh", "-c", "kill -TERM $$"]).code).toBe(143);
  });

  test("as root it is a usage error, not a command run as it is", () => {
    const r = ctrnet(["unshare", "true"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("ctrnet: error: ctrnet unshare is for rootless users: as root, run the command directly\n");
  });

  test("a command that does not exist gives 127", () => {
    const r = ctrnetAsUser(["unshare", "ctrnet-no-such-command"]);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('cannot run "ctrnet-no-such-command": command not found');
  });

  test("arguments, stdin and stdout pass through unchanged", () => {
    const input = "x".repeat(1 << 20);
    const r = ctrnetAsUser(["unshare", "--", "sh", "-c", 'printf "%s|" "$@"; wc -c', "sh", "a b", "--log-level", "-h"], { stdin: input });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`a b|--log-level|-h|${input.length}\n`);
  });

  test("the working directory and the environment are kept", () => {
    const r = ctrnetAsUser(["unshare", "--", "sh", "-c", 'pwd; echo "$CTRNET_TEST_MARK"'], { cwd: "/tmp", env: { CTRNET_TEST_MARK: "kept" } });
    expect(r.stdout).toBe("/tmp\nkept\n");
  });

  test("without a command it runs $SHELL", () => {
    const r = ctrnetAsUser(["unshare"], { stdin: "id -u; exit 3\n", env: { SHELL: "/bin/sh" } });
    expect(r.stdout).toBe("0\n");
    expect(r.code).toBe(3);
  });

  test("a signal sent to ctrnet reaches the command", async () => {
    const proc = spawnCtrnetAsUser(["unshare", "--", "sh", "-c", 'trap "echo got USR1; exit 7" USR1; echo ready; while :; do sleep 0.05; done']);
    const { text, rest } = await readUntil(proc.stdout, "ready\n");
    expect(text).toBe("ready\n");
    proc.kill("SIGUSR1");
    expect(await proc.exited).toBe(7);
    expect(await rest()).toBe("got USR1\n");
  });

  test("SIGTERM to ctrnet ends the command, and ctrnet exits with its status", async () => {
    const proc = spawnCtrnetAsUser(["unshare", "--", "sh", "-c", "echo ready; exec sleep 600"]);
    const { rest } = await readUntil(proc.stdout, "ready\n");
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(143);
    await rest();
  });
});
