// Global options before the command, read-only commands that make nothing, and values with control
// characters quoted so an error stays one line (issue 18).
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../helpers/binary.ts";
import { bareBundle } from "./hook-helpers.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";
import { cliWith, oneLine, refused } from "./reliability-helpers.ts";

describe.skipIf(!privileged)("global options and error lines", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("cli");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  describe("global options", () => {
    test("directory options and --log-level work before the command and after it", () => {
      const id = `gl-${hex(3)}`;
      inst.ok(["create", "--network", net.name, id]);
      // the environment points elsewhere: only the options can find the container
      const elsewhere = { CTRNET_ROOT: join(inst.dir, `nowhere-${hex(3)}`), CTRNET_CNI_CONFIG_DIR: join(inst.dir, `noconf-${hex(3)}`) };
      const root = inst.env.CTRNET_ROOT!;
      for (const args of [
        ["--root", root, "ls", "--format", "json"],
        [`--root=${root}`, "--log-level", "debug", "ls", "--format", "json"],
        ["ls", "--root", root, "--format", "json", "--log-level=error"],
        ["--log-level", "error", "ls", "--format", "json", "--root", root],
      ]) {
        const r = cliWith(inst, args, elsewhere);
        expect({ args, code: r.code }).toEqual({ args, code: 0 });
        expect((JSON.parse(r.stdout) as { id: string }[]).map((c) => c.id)).toEqual([id]);
      }
      const conf = inst.env.CTRNET_CNI_CONFIG_DIR!;
      expect(cliWith(inst, ["--root", root, "--cni-config-dir", conf, "inspect", id], elsewhere).code).toBe(0);
      expect(cliWith(inst, ["--cni-config-dir", conf, "network", "inspect", net.name], elsewhere).code).toBe(0);
      expect(cliWith(inst, ["network", "--cni-config-dir", conf, "inspect", net.name], elsewhere).code).toBe(0);
      expect(cliWith(inst, ["--root", root, "--cni-config-dir", conf, "rm", id], elsewhere).code).toBe(0);
    });

    test("an unknown option before the command, or a directory option without its value, is refused on one line", () => {
      refused(inst, ["--no-such-option", "ls"], "unknown option --no-such-option");
      refused(inst, ["--root"], "option --root needs a directory");
      refused(inst, ["--root", "", "ls"], "option --root needs a directory");
    });

    test("an empty --network is refused with exit 2 by create and run, and nothing is made", () => {
      refused(inst, ["create", "--network", "", `empty-${hex(3)}`], "--network must not be empty");
      refused(inst, ["run", "--network=", "--", "true"], "--network must not be empty");
    });

    test("read-only commands with a new --root make no directory and no database", () => {
      const fresh = join(inst.dir, `fresh-${hex(3)}`);
      expect(cliWith(inst, ["ls", "--root", fresh]).code).toBe(0);
      expect(cliWith(inst, ["--root", fresh, "ls", "--format", "json"]).stdout.trim()).toBe("[]");
      const inspected = cliWith(inst, ["--root", fresh, "inspect", "nope"]);
      expect({ code: inspected.code, stdout: inspected.stdout }).toEqual({ code: 1, stdout: "[]\n" });
      expect(inspected.stderr).toContain('no container with name or ID "nope" found: no such container');
      for (const command of ["port", "stats"]) {
        const r = cliWith(inst, [command, "--root", fresh, "nope"]);
        expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
        expect(r.stderr).toContain('no container with name or ID "nope" found: no such container');
      }
      expect(existsSync(fresh)).toBe(false);
    });
  });

  describe("control characters in values", () => {
    test.each([
      ["an id", ["create", "--network", "NET", "a\nb"], 'invalid container id "a\\nb"'],
      ["a name", ["create", "--network", "NET", "--name", "x\ny", "ID"], 'invalid container name "x\\ny"'],
      ["a port spec", ["create", "--network", "NET", "-p", "80\n81", "ID"], "80\\n81"],
      ["a network", ["create", "--network", "ne\rt", "ID"], "ne\\rt"],
      ["an alias", ["create", "--network", "NET", "--alias", "al\u001b[31mias", "ID"], "al\\u001b[31mias"],
      ["a slirp4netns option", ["create", "--network", "slirp4netns:mtu=1\n2", "ID"], "1\\n2"],
      ["an unknown option", ["ls", "--fo\nrmat"], "--fo\\nrmat"],
      ["a lookup", ["inspect", "no\tpe"], "no\\tpe"],
    ])("%s is quoted with its control characters escaped, keeping the error one line", (_what, args, shown) => {
      const id = `cc-${hex(3)}`;
      const argv = args.map((a) => (a === "NET" ? net.name : a === "ID" ? id : a));
      const r = cliWith(inst, argv);
      expect(r.code).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toContain(shown);
    });

    test.each<[string, { id?: string; annotations?: Record<string, string> }, string]>([
      ["a hook's container id", { id: "hook\nid" }, 'invalid container id "hook\\nid"'],
      ["a hook's hostname", { annotations: { "io.ctrnet.network": "none", "io.ctrnet.hostname": "h\nost" } }, "h\\nost"],
    ])("%s is quoted with its control characters escaped, keeping the error one line", (_what, state, shown) => {
      const annotations = Object.fromEntries(Object.entries(state.annotations ?? {}).map(([k, v]) => [k, v === "NET" ? net.name : v]));
      const stdin = JSON.stringify({ ociVersion: "1.0.2", id: state.id ?? `hk-${hex(3)}`, status: "creating", pid: process.pid, bundle: bareBundle(inst.dir), annotations });
      const r = Bun.spawnSync([BINARY, "hook", "createRuntime"], { stdin: Buffer.from(stdin), env: { ...process.env, ...inst.env }, stdout: "pipe", stderr: "pipe" });
      const stderr = r.stderr.toString();
      expect(r.exitCode).toBe(2);
      oneLine(stderr);
      expect(stderr).toContain(shown);
    });
  });

});
