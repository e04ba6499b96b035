// `ctrnet netns …` through the compiled binary, as root inside the runner's private net+mount namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { BINARY, ctrnet, ensureBinary } from "../helpers/binary.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";

const dir = scratchPath("ctrnet-netns-cli-");
// Set for this file only (files share one process); the leak check in test/preload.ts watches it too.
const savedNetnsDir = process.env.CTRNET_NETNS_DIR;
process.env.CTRNET_NETNS_DIR = dir;

beforeAll(() => {
  makeScratch(dir);
  ensureBinary();
});

afterAll(() => {
  for (const name of readdirSync(dir)) ctrnet(["netns", "rm", name]);
  try {
    libc.umount2(dir, libc.MNT_DETACH);
  } catch {
    // never made a mount point
  }
  rmSync(dir, { recursive: true, force: true });
  if (savedNetnsDir === undefined) delete process.env.CTRNET_NETNS_DIR;
  else process.env.CTRNET_NETNS_DIR = savedNetnsDir;
});

let counter = 0;
const unique = (base: string): string => `${base}-${process.pid}-${++counter}`;

const netnsIdOf = (path: string): string => `net:[${statSync(path).ino}]`;
const nsfsMountAt = (path: string): boolean =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === path && line.includes(" - nsfs "));

/** Adds a namespace through the CLI for one test and removes it afterwards. */
function withNetns(fn: (name: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const name = unique("cli");
    expect(ctrnet(["netns", "add", name])).toEqual({ code: 0, stdout: `${name}\n`, stderr: "" });
    try {
      await fn(name);
    } finally {
      if (existsSync(join(dir, name))) expect(ctrnet(["netns", "rm", name]).code).toBe(0);
    }
  };
}

async function firstLine(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    if (text.includes("\n")) break;
  }
  return text.split("\n")[0]!;
}

/** A failure must be one `ctrnet: error: …` line on stderr, nothing on stdout, and exit 2. */
function expectUsageError(args: string[], message: string): void {
  const r = ctrnet(args);
  expect(r).toEqual({ code: 2, stdout: "", stderr: `ctrnet: error: ${message}\n` });
}

describe("ctrnet netns add", () => {
  test(
    "prints the name and mounts a namespace in the netns dir",
    withNetns((name) => {
      expect(nsfsMountAt(join(dir, name))).toBe(true);
    }),
  );

  test("without a name prints a random cni-… name", () => {
    const r = ctrnet(["netns", "add"]);
    expect(r.code).toBe(0);
    const name = r.stdout.trim();
    expect(name).toMatch(/^cni-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
    expect(ctrnet(["netns", "rm", name]).code).toBe(0);
  });

  test("--netns-dir overrides the environment", () => {
    const other = mkdtempSync(join(tmpdir(), "ctrnet-netns-other-"));
    try {
      const name = unique("other");
      expect(ctrnet(["netns", "add", "--netns-dir", other, name]).code).toBe(0);
      expect(nsfsMountAt(join(other, name))).toBe(true);
      expect(ctrnet(["netns", "ls", "--netns-dir", other]).stdout).toBe(`${name}\n`);
      expect(ctrnet(["netns", "exec", "--netns-dir", other, name, "true"]).code).toBe(0);
      expect(ctrnet(["netns", "rm", `--netns-dir=${other}`, name]).code).toBe(0);
      expect(readdirSync(other)).toEqual([]);
    } finally {
      libc.umount2(other, libc.MNT_DETACH);
      rmSync(other, { recursive: true, force: true });
    }
  });

  test("bad names and existing names: one line, exit 2, nothing created", () => {
    const before = readdirSync(dir).sort();
    expectUsageError(["netns", "add", "../x"], 'invalid network namespace name "../x": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*');
    expectUsageError(["netns", "add", ""], "network namespace name must not be empty");
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  test(
    "an existing name: one line, exit 2, the namespace untouched",
    withNetns((name) => {
      const id = netnsIdOf(join(dir, name));
      expectUsageError(["netns", "add", name], `network namespace "${name}" already exists`);
      expect(netnsIdOf(join(dir, name))).toBe(id);
    }),
  );
});

describe("ctrnet netns ls", () => {
  test("prints one name a line, sorted, or a JSON array", () => {
    const names = [unique("b"), unique("a")];
    for (const n of names) expect(ctrnet(["netns", "add", n]).code).toBe(0);
    try {
      const sorted = [...names].sort();
      expect(ctrnet(["netns", "ls"])).toEqual({ code: 0, stdout: sorted.map((n) => `${n}\n`).join(""), stderr: "" });
      expect(JSON.parse(ctrnet(["netns", "ls", "--format", "json"]).stdout)).toEqual(sorted);
    } finally {
      expect(ctrnet(["netns", "rm", ...names]).code).toBe(0);
    }
    expect(ctrnet(["netns", "ls", "--format", "json"]).stdout).toBe("[]\n");
  });
});

describe("ctrnet netns rm", () => {
  test("removes every name, leaving no mount and no file", () => {
    const names = [unique("r"), unique("r")];
    for (const n of names) ctrnet(["netns", "add", n]);
    expect(ctrnet(["netns", "rm", ...names])).toEqual({ code: 0, stdout: "", stderr: "" });
    for (const n of names) {
      expect(existsSync(join(dir, n))).toBe(false);
      expect(nsfsMountAt(join(dir, n))).toBe(false);
    }
  });

  test("a missing name: one line, exit 2", () => {
    expectUsageError(["netns", "rm", "no-such-netns"], 'network namespace "no-such-netns" does not exist');
  });

  test("keeps going past missing names and reports them all on one line", () => {
    const name = unique("r");
    ctrnet(["netns", "add", name]);
    expectUsageError(
      ["netns", "rm", "missing-1", name, "missing-2"],
      'network namespace "missing-1" does not exist; network namespace "missing-2" does not exist',
    );
    expect(existsSync(join(dir, name))).toBe(false);
  });
});

describe("ctrnet netns exec", () => {
  test(
    "runs the command in the namespace, which has only lo",
    withNetns((name) => {
      const links = ctrnet(["netns", "exec", name, "ip", "-o", "link"]);
      expect(links.code).toBe(0);
      expect(links.stderr).toBe("");
      expect(links.stdout.trim().split("\n").map((l) => l.split(": ")[1])).toEqual(["lo"]);
      expect(ctrnet(["netns", "exec", name, "readlink", "/proc/self/ns/net"]).stdout).toBe(`${netnsIdOf(join(dir, name))}\n`);
      expect(ctrnet(["netns", "exec", name, "ls", "/sys/class/net"]).stdout).toBe("lo\n");
    }),
  );

  test(
    "returns the command's exit status, 128+N for a signal, 127 for a missing command",
    withNetns((name) => {
      expect(ctrnet(["netns", "exec", name, "--", "sh", "-c", "exit 3"]).code).toBe(3);
      expect(ctrnet(["netns", "exec", name, "sh", "-c", "kill -TERM $$"]).code).toBe(143);
      const missing = ctrnet(["netns", "exec", name, "no-such-command"]);
      expect(missing).toEqual({ code: 127, stdout: "", stderr: 'ctrnet: error: cannot run "no-such-command": command not found\n' });
    }),
  );

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    test(
      `forwards ${signal} to the command`,
      withNetns(async (name) => {
        const trap = `trap 'exit 42' ${signal.slice(3)}; echo ready; while :; do sleep 0.05; done`;
        const proc = Bun.spawn([BINARY, "netns", "exec", name, "sh", "-c", trap], {
          env: process.env,
          stdout: "pipe",
          stderr: "pipe",
        });
        expect(await firstLine(proc.stdout)).toBe("ready");
        proc.kill(signal);
        expect(await proc.exited).toBe(42);
      }),
    );
  }

  test("a missing namespace or missing command line: one line, exit 2", () => {
    expectUsageError(["netns", "exec", "no-such-netns", "true"], 'network namespace "no-such-netns" does not exist');
    expectUsageError(["netns", "exec", "../x", "true"], 'invalid network namespace name "../x": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*');
    expectUsageError(["netns", "exec", "somename"], "missing command: ctrnet netns exec NAME [--] CMD…");
  });
});
