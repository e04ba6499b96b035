// The rendezvous of crun's rootless createRuntime and createContainer hooks (src/hook/rendezvous.ts): its
// names and inputs, and the waiter's one check, that only a child of the container's process is answered.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { acceptHolder, handOver, hasCreateContainerHook, HOLDER_ENV, holderFromEnv, listen, rendezvousPath } from "../../src/hook/rendezvous.ts";
import { removeStaleWaiterSockets } from "../../src/state/waiter-sockets.ts";
import { hookTarget, sameNetns } from "../../src/hook/target.ts";
import type { BundleConfig, OciState } from "../../src/schema/oci.ts";

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("rendezvousPath", () => {
  test("one short name per id, in the runtime dir's hooks", () => {
    const long = "f".repeat(64);
    expect(rendezvousPath("/run/user/1000/ctrnet", long)).toMatch(/^\/run\/user\/1000\/ctrnet\/hooks\/[0-9a-f]{16}\.sock$/);
    expect(rendezvousPath("/r", "a")).toBe(rendezvousPath("/r", "a"));
    expect(rendezvousPath("/r", "a")).not.toBe(rendezvousPath("/r", "b"));
    // an id is hashed, never a path
    expect(rendezvousPath("/r", "../../etc/passwd")).toStartWith("/r/hooks/");
  });
});

describe("hasCreateContainerHook", () => {
  const hook = (args?: string[]) => ({ hooks: { createContainer: [{ path: "/usr/local/bin/ctrnet", ...(args && { args }) }] } });
  test("ctrnet's `hook createContainer`, wherever it is in the list and whatever comes before", () => {
    expect(hasCreateContainerHook(hook(["ctrnet", "hook", "createContainer"]))).toBe(true);
    expect(hasCreateContainerHook(hook(["bun", "/src/cli/main.ts", "--log-level", "debug", "hook", "createContainer"]))).toBe(true);
    const two: BundleConfig = { hooks: { createContainer: [{ path: "/bin/true" }, { path: "/x/ctrnet", args: ["ctrnet", "hook", "createContainer"] }] } };
    expect(hasCreateContainerHook(two)).toBe(true);
  });
  test("no hooks, other stages, other programs", () => {
    expect(hasCreateContainerHook({})).toBe(false);
    expect(hasCreateContainerHook({ hooks: {} })).toBe(false);
    expect(hasCreateContainerHook(hook())).toBe(false);
    expect(hasCreateContainerHook(hook(["ctrnet", "hook", "createRuntime"]))).toBe(false);
    expect(hasCreateContainerHook(hook(["ctrnet", "createContainer"]))).toBe(false);
  });
});

describe("holderFromEnv", () => {
  test("unset or empty: none; a pid; anything else is an error naming the variable", () => {
    expect(holderFromEnv({})).toBeUndefined();
    expect(holderFromEnv({ [HOLDER_ENV]: "" })).toBeUndefined();
    expect(holderFromEnv({ [HOLDER_ENV]: "4242" })).toBe(4242);
    for (const bad of ["0", "-1", "12x", " 12", "1e3", "99999999999999999999"]) {
      expect(() => holderFromEnv({ [HOLDER_ENV]: bad })).toThrow(`${HOLDER_ENV}: expected a process id, got "${bad}"`);
    }
  });
});

describe("hookTarget through a holder", () => {
  const state: OciState = { ociVersion: "1.0.2", id: "c1", status: "created", pid: 999_999_999, bundle: "/b", annotations: {} };
  const config: BundleConfig = { linux: { namespaces: [{ type: "network" }] } };
  test("the netns is looked at through the holder, never through the container's closed pid", () => {
    // this process as the holder: its netns is the runtime's own, which is refused by the holder's path
    expect(() => hookTarget(state, config, { kind: "bridge" }, () => [], process.pid)).toThrow(`(/proc/${process.pid}/ns/net)`);
    expect(() => hookTarget(state, config, { kind: "bridge" }, () => [], 999_999_998)).toThrow("/proc/999999998/ns/net");
  });
  test("sameNetns compares what the holder reaches", () => {
    expect(sameNetns("/proc/self/ns/net", { kind: "adopt", pid: 999_999_999, via: `/proc/${process.pid}/ns/net` })).toBe(true);
    expect(sameNetns("/proc/self/ns/net", { kind: "adopt", pid: 999_999_999, via: "/proc/999999998/ns/net" })).toBe(false);
  });
});

/**
 * A stand-in for the container's process: `sh` whose child is the createContainer side, handOver, printing
 * the status it returns on stdout (what the waiter sent after it goes to stderr).
 */
function container(runtimeDir: string, id: string): { proc: ReturnType<typeof Bun.spawn>; stdout: Promise<string>; stderr: Promise<string> } {
  const module = join(import.meta.dir, "../../src/hook/rendezvous.ts");
  const client = `import { handOver } from ${JSON.stringify(module)}; console.log(handOver(${JSON.stringify(runtimeDir)}, ${JSON.stringify(id)}));`;
  const proc = Bun.spawn(["sh", "-c", `"$0" -e '${client}'; sleep 0.2`, process.execPath], { stdout: "pipe", stderr: "pipe" });
  return { proc, stdout: new Response(proc.stdout).text(), stderr: new Response(proc.stderr).text() };
}

function readAnswer(fd: number): string {
  const buf = Buffer.alloc(4096);
  const n = libc.read(fd, buf);
  return buf.subarray(0, n).toString("utf8");
}

describe("the waiter's socket", () => {
  test("made 0700 in its own dir; no waiter means nothing to hand over, a dead one is an error", () => {
    dir = mkdtempSync(join(tmpdir(), "ctrnet-rendezvous-"));
    const runtimeDir = join(dir, "rt");
    expect(handOver(runtimeDir, "c1")).toBeUndefined();
    const path = rendezvousPath(runtimeDir, "c1");
    const fd = listen(path);
    libc.close(fd);
    expect(statSync(join(runtimeDir, "hooks")).mode & 0o777).toBe(0o700);
    // a socket nobody listens on any more is a waiter that died: the container would never get its network
    expect(() => handOver(runtimeDir, "c1")).toThrow(`container "c1" gets no network: the waiter createRuntime left for it is gone (nothing listens on ${path})`);
    expect(existsSync(path)).toBe(false);
  });

  test("gc's sweep removes the sockets no waiter holds any more, and only those", () => {
    dir = mkdtempSync(join(tmpdir(), "ctrnet-rendezvous-"));
    expect(removeStaleWaiterSockets(dir)).toEqual([]); // no hooks dir at all
    const live = rendezvousPath(dir, "live");
    const gone = rendezvousPath(dir, "gone");
    const liveFd = listen(live);
    libc.close(listen(gone)); // its waiter died: the file stays, nothing is bound there
    const other = join(dir, "hooks", "notes.txt");
    writeFileSync(other, "");
    try {
      expect(removeStaleWaiterSockets(dir)).toEqual([gone]);
      expect([existsSync(live), existsSync(gone), existsSync(other)]).toEqual([true, false, true]);
    } finally {
      libc.close(liveFd);
    }
  });

  test("a process that is no child of the container's is answered with an error and not taken", async () => {
    dir = mkdtempSync(join(tmpdir(), "ctrnet-rendezvous-"));
    const path = join(dir, "w.sock");
    const fd = listen(path);
    const client = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
    const stranger = Bun.spawn(["sleep", "0.6"]);
    try {
      libc.connect(client, libc.unixAddress(path));
      // this test process connected, the "container" is a sleep that ends: refused, then nothing came
      expect(acceptHolder(fd, stranger.pid)).toBeUndefined();
      expect(readAnswer(client)).toBe(`2\nctrnet: error: process ${process.pid} is not a hook of the container's process ${stranger.pid}\n`);
    } finally {
      libc.close(client);
      libc.close(fd);
      stranger.kill();
    }
  });

  test("the container's child is taken, by its pid as this process sees it, and gets the answer", async () => {
    dir = mkdtempSync(join(tmpdir(), "ctrnet-rendezvous-"));
    const fd = listen(rendezvousPath(dir, "c1"));
    const { proc, stdout, stderr } = container(dir, "c1");
    try {
      const found = acceptHolder(fd, proc.pid);
      expect(found).toBeDefined();
      expect(found!.pid).not.toBe(proc.pid);
      expect(readFileText(`/proc/${found!.pid}/status`)).toContain(`PPid:\t${proc.pid}\n`);
      libc.write(found!.conn, Buffer.from("3\nctrnet: error: as the re-run said\n"));
      libc.close(found!.conn);
      expect(await stdout).toBe("3\n");
      expect(await stderr).toBe("ctrnet: error: as the re-run said\n");
    } finally {
      libc.close(fd);
      proc.kill();
      await proc.exited;
    }
  });
});

function readFileText(path: string): string {
  return require("node:fs").readFileSync(path, "utf8");
}
