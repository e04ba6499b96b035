// Bun's FFI compiler without a usable per-uid directory (issue 18): ctrnet gives it one of its own.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { hex, Installation, privileged } from "./lifecycle-helpers.ts";
import { cliWith } from "./reliability-helpers.ts";
import { BINARY } from "../helpers/binary.ts";

describe.skipIf(!privileged)("Bun's compiler directory", () => {
  let inst: Installation;

  beforeAll(() => {
    inst = new Installation();
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test("when bun-cc-UID belongs to another user, every process compiles in ctrnet's runtime dir and leaves nothing beside it", () => {
    const tmp = join(inst.dir, `bun-tmp-${hex(3)}`);
    mkdirSync(join(tmp, `bun-cc-${process.getuid!()}`), { recursive: true });
    chownSync(join(tmp, `bun-cc-${process.getuid!()}`), 65534, 65534);
    const env = { BUN_TMPDIR: tmp };
    const id = `cc-${hex(3)}`;
    // each of these compiles ffi/'s C: the launcher for run, the netns thread for create and rm
    expect(cliWith(inst, ["run", "--network", "none", "--", "true"], env)).toMatchObject({ code: 0, stderr: "" });
    expect(cliWith(inst, ["create", "--network", "none", id], env)).toMatchObject({ code: 0, stderr: "" });
    expect(cliWith(inst, ["rm", id], env)).toMatchObject({ code: 0, stderr: "" });
    expect(readdirSync(tmp)).toEqual([`bun-cc-${process.getuid!()}`]);
    const own = join(inst.env.CTRNET_ROOT!, "tmp", `bun-cc-${process.getuid!()}`);
    expect(statSync(own).mode & 0o777).toBe(0o700);
    expect(readdirSync(own).length).toBeGreaterThan(0);
  });

  test("with no BUN_TMPDIR from the caller, the headers go to ctrnet's runtime dir, not TMPDIR, and no child inherits the variable", () => {
    const tmp = join(inst.dir, `tmpdir-${hex(3)}`);
    mkdirSync(tmp);
    const env: Record<string, string | undefined> = { ...process.env, ...inst.env, TMPDIR: tmp };
    delete env.BUN_TMPDIR;
    const cli = (args: string[]) => {
      const r = Bun.spawnSync([BINARY, ...args], { env, stdout: "pipe", stderr: "pipe" });
      return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    };
    const id = `cc-${hex(3)}`;
    // run compiles the launcher before it starts the command; create and rm the netns thread
    expect(cli(["run", "--network", "none", "--", "sh", "-c", 'echo "[${BUN_TMPDIR-unset}]"'])).toEqual({ code: 0, stdout: "[unset]\n", stderr: "" });
    expect(cli(["create", "--network", "none", id])).toMatchObject({ code: 0, stderr: "" });
    expect(cli(["rm", id])).toMatchObject({ code: 0, stderr: "" });
    expect(readdirSync(tmp)).toEqual([]);
    const own = join(inst.env.CTRNET_ROOT!, "tmp", `bun-cc-${process.getuid!()}`);
    expect(statSync(own).mode & 0o777).toBe(0o700);
    expect(readdirSync(own)).toContain("stdbool.h");
  });
});
