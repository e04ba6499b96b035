// The OCI state on stdin and the bundle's config.json: what passes, and the one line a bad one gives.
import { describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isTerminal } from "../../ffi/libc.ts";
import { UsageError } from "../../src/errors.ts";
import { MAX_STATE_BYTES, parseBundleConfig, parseOciState, readStateText } from "../../src/hook/input.ts";

const LIBC = join(import.meta.dir, "../../ffi/libc.ts");
const STDIN = join(import.meta.dir, "../../src/hook/stdin.ts");
const fixture = (name: string) => readFileSync(join(import.meta.dir, "../fixtures/hook", name), "utf8");

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error("expected a UsageError");
}

const valid = { ociVersion: "1.0.2", id: "c1", status: "creating", pid: 10, bundle: "/b", annotations: {} };

describe("parseOciState", () => {
  test("a state as crun sends it at createRuntime, extra fields ignored", () => {
    const state = parseOciState(fixture("state-createRuntime.json"));
    expect(state).toEqual({
      ociVersion: "1.0.2",
      id: "web1",
      status: "creating",
      pid: 4242,
      bundle: "/var/lib/containers/web1/userdata",
      annotations: {
        "io.ctrnet.network": "podnet",
        "io.ctrnet.publish": "8080:80 127.0.0.1:8443:443/tcp",
        "io.ctrnet.aliases": "web, www",
        "org.opencontainers.image.ref.name": "busybox",
      },
    });
  });

  test("poststop without pid and annotations", () => {
    expect(parseOciState(fixture("state-poststop-runc.json"))).toEqual({
      ociVersion: "1.0.2",
      id: "web1",
      status: "stopped",
      bundle: "/run/bundles/web1",
      annotations: {},
    });
  });

  test.each([
    ["not json", "invalid OCI state on stdin: not JSON"],
    ["null", "invalid OCI state on stdin: expected Object, got null"],
    ["{}", "invalid OCI state on stdin: ociVersion: missing (and 3 more)"],
    [JSON.stringify({ ...valid, pid: "10" }), 'invalid OCI state on stdin: pid: expected number, got "10"'],
    [JSON.stringify({ ...valid, pid: -1 }), "invalid OCI state on stdin: pid: expected a process id"],
    [JSON.stringify({ ...valid, pid: 1.5 }), "invalid OCI state on stdin: pid: expected a process id"],
    [JSON.stringify({ ...valid, ociVersion: undefined }), "invalid OCI state on stdin: ociVersion: missing"],
    [JSON.stringify({ ...valid, id: "" }), "invalid OCI state on stdin: id: expected the container id"],
    [JSON.stringify({ ...valid, status: "starting" }), 'invalid OCI state on stdin: status: expected ("creating" | "created" | "running" | "stopped" | "paused"), got "starting"'],
    [JSON.stringify({ ...valid, bundle: "b" }), "invalid OCI state on stdin: bundle: expected an absolute path"],
    [JSON.stringify({ ...valid, annotations: { "io.ctrnet.ip": 1 } }), 'invalid OCI state on stdin: annotations["io.ctrnet.ip"]: expected string, got 1'],
  ])("%s", (text, expected) => {
    expect(message(() => parseOciState(text))).toStartWith(expected);
  });

  test("a terminal on stdin is refused at once instead of waiting", async () => {
    await expect(readStateText({ isTTY: true })).rejects.toThrow("reads the OCI state JSON on stdin");
    expect(MAX_STATE_BYTES).toBe(1 << 20);
  });
});

describe("parseBundleConfig", () => {
  test("reads root, hostname and namespaces, keeps nothing else", () => {
    const text = JSON.stringify({
      ociVersion: "1.0.2",
      process: { args: ["sh"] },
      root: { path: "rootfs", readonly: true },
      hostname: "crun",
      linux: { namespaces: [{ type: "pid" }, { type: "network", path: "/run/netns/x" }], resources: {} },
    });
    expect(parseBundleConfig(text, "/b/config.json")).toEqual({
      root: { path: "rootfs" },
      hostname: "crun",
      linux: { namespaces: [{ type: "pid" }, { type: "network", path: "/run/netns/x" }] },
    });
  });

  test("names the file and the field", () => {
    expect(message(() => parseBundleConfig(JSON.stringify({ linux: { namespaces: [{ path: "/x" }] } }), "/b/config.json"))).toBe(
      "invalid /b/config.json: linux.namespaces[0].type: missing",
    );
  });
});

describe("stdin without process.stdin", () => {
  test("isTerminal: a pty is a terminal; /dev/null, a pipe and a file are not", () => {
    const pty = openSync("/dev/ptmx", "r+");
    const devNull = openSync("/dev/null", "r");
    const file = openSync(import.meta.path, "r");
    try {
      expect(isTerminal(pty)).toBe(true);
      expect(isTerminal(devNull)).toBe(false);
      expect(isTerminal(file)).toBe(false);
    } finally {
      for (const fd of [pty, devNull, file]) closeSync(fd);
    }
    const piped = Bun.spawnSync([process.execPath, "-e", `import { isTerminal } from ${JSON.stringify(LIBC)}; console.log(isTerminal(0))`], { stdin: Buffer.from("x") });
    expect(piped.stdout.toString().trim()).toBe("false");
  });

  // readStdin reads fd 0 of its process: a child's, with what is piped in
  const readIn = (stdin: Buffer | "ignore", max?: number) => {
    const script = `import { readStdin } from ${JSON.stringify(STDIN)}; const b = await readStdin(${max ?? ""}); console.log(b === null ? "null" : JSON.stringify(b.toString()))`;
    const r = Bun.spawnSync([process.execPath, "-e", script], { stdin });
    expect(r.stderr.toString()).toBe("");
    return r.stdout.toString().trim();
  };

  test("readStdin: all of it, more than one read's worth too", () => {
    expect(readIn(Buffer.from("hello"))).toBe('"hello"');
    const big = "y".repeat(200_000);
    expect(readIn(Buffer.from(big))).toBe(JSON.stringify(big));
  });

  test("readStdin: more than max bytes is null; nothing on stdin is empty", () => {
    expect(readIn(Buffer.from("0123456789"), 10)).toBe('"0123456789"');
    expect(readIn(Buffer.from("0123456789a"), 10)).toBe("null");
    expect(readIn("ignore")).toBe('""');
  });
});
