// Help, version and shell completion through the compiled binary: help text from the command definitions
// (no markup left in it), `ctrnet help CMD` equal to `CMD --help`, and the bash completion script sourced
// into a real bash, its function called as bash's completion would, listing a real container and network.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../helpers/binary.ts";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

let inst: Installation;
beforeAll(() => {
  inst = new Installation();
});
afterAll(() => inst?.dispose());

/** Every command path help lists, found by walking help's own Commands sections. */
function commandPaths(path: string[] = []): string[][] {
  const help = inst.ok([...path, "--help"]);
  const section = help.split("\nCommands:\n")[1]?.split("\n\n")[0] ?? "";
  const subs = section
    .split("\n")
    .map((l) => l.trim().split(/\s+/)[0]!)
    .filter(Boolean);
  return [path, ...subs.flatMap((s) => commandPaths([...path, s]))];
}

describe("help and version", () => {
  test("every command's --help: no backticks, no trailing spaces, a usage line naming the command; help CMD prints the same", () => {
    const paths = commandPaths();
    expect(paths.length).toBeGreaterThan(30);
    for (const path of paths) {
      const r = inst.cli([...path, "--help"]);
      expect({ path, code: r.code, stderr: r.stderr }).toEqual({ path, code: 0, stderr: "" });
      expect({ path, backticks: r.stdout.includes("`") }).toEqual({ path, backticks: false });
      expect({ path, trailing: r.stdout.split("\n").filter((l) => l !== l.trimEnd()) }).toEqual({ path, trailing: [] });
      expect(r.stdout).toContain(`\nUsage:\n  ${["ctrnet", ...path].join(" ")}`);
      expect({ path, help: inst.ok(["help", ...path]) }).toEqual({ path, help: r.stdout });
    }
    const ls = inst.ok(["help", "network", "ls"]);
    expect(ls).toContain("\n  -n, --noheading ");
    expect(ls).toContain("\n  -f, --filter string ");
    expect(ls.split("\n")[0]).toBe("List networks, sorted by name (also: network list)");
  });

  test("help of an unknown command: exit 2, one line", () => {
    const r = inst.cli(["help", "network", "nope"]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toBe('ctrnet: error: unknown command "network nope": see ctrnet --help\n');
  });

  test("--version and -v print podman's shape: NAME version X", () => {
    const version = (JSON.parse(inst.ok(["version", "--format", "json"])) as { version: string }).version;
    expect(inst.ok(["--version"])).toBe(`ctrnet version ${version}\n`);
    expect(inst.ok(["-v"])).toBe(`ctrnet version ${version}\n`);
  });

  test("the working directory's .env and bunfig.toml are not read: a variable there changes nothing, a broken one fails nothing", () => {
    const cwd = join(inst.dir, "project");
    mkdirSync(cwd);
    writeFileSync(join(cwd, ".env"), "CTRNET_TRACE_PHASES=1\n");
    writeFileSync(join(cwd, "bunfig.toml"), "[[[ not toml\n");
    const r = Bun.spawnSync([BINARY, "version"], { cwd, env: { ...process.env, ...inst.env }, stdout: "pipe", stderr: "pipe" });
    expect({ code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout.toString()).toStartWith("ctrnet version ");
  });
});

describe("completion", () => {
  let script: string;
  let net: TestNetwork;
  const id = `cmpl${hex(4)}`;

  beforeAll(() => {
    script = join(inst.dir, "ctrnet.bash");
    writeFileSync(script, inst.ok(["completion", "bash"]));
    if (privileged) {
      net = inst.network("cmpl");
      inst.ok(["create", "--network", net.name, "--name", `web-${id}`, id]);
    }
  });
  afterAll(() => {
    if (privileged) inst.cli(["rm", "-f", id]);
  });

  /** What bash's completion offers for the words typed so far (the last one being completed). */
  function complete(...words: string[]): string[] {
    const line = [BINARY, ...words];
    const program = [
      `source ${script}`,
      `COMP_WORDS=(${line.map((w) => `'${w}'`).join(" ")})`,
      `COMP_CWORD=${line.length - 1}`,
      "_ctrnet_complete",
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join("\n");
    const r = Bun.spawnSync(["bash", "--norc", "--noprofile", "-c", program], { env: { ...process.env, ...inst.env }, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    return r.stdout.toString().split("\n").filter(Boolean).sort();
  }

  test("subcommands and options from the command definitions", () => {
    expect(complete("ne")).toEqual(["netns", "network"]);
    expect(complete("network", "")).toEqual(["create", "exists", "inspect", "ls", "prune", "rm", "update"]);
    expect(complete("network", "ls", "--n")).toEqual(["--netns-dir", "--no-trunc", "--noheading"]);
    expect(complete("--log-level", "debug", "network", "l")).toEqual(["ls"]);
    expect(complete("co")).toEqual(["completion", "connect"]);
    expect(complete("run", "--", "")).toEqual([]);
  });

  test.skipIf(!privileged)("container ids and network names, listed by the ctrnet being completed", () => {
    expect(complete("inspect", "")).toEqual([id.slice(0, 12)]);
    expect(complete("inspect", id, "")).toEqual([id.slice(0, 12)]);
    expect(complete("network", "inspect", "")).toEqual(["ctrnet", net.name]);
    expect(complete("network", "rm", "-f", net.name.slice(0, 4))).toEqual([net.name]);
    expect(complete("connect", "")).toEqual(["ctrnet", net.name]);
    expect(complete("connect", net.name, "")).toEqual([id.slice(0, 12)]);
    expect(complete("connect", net.name, id, "")).toEqual([]);
    expect(complete("create", "--network", "")).toEqual(["ctrnet", net.name]);
    expect(complete("port", "--format", "json", "")).toEqual([id.slice(0, 12)]);
  });

  /** A directory whose `ctrnet` is the binary under test, for shells that complete the command by name. */
  function pathWithCtrnet(): string {
    const bin = join(inst.dir, "bin");
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, "ctrnet"))) symlinkSync(BINARY, join(bin, "ctrnet"));
    return `${bin}:${process.env.PATH ?? ""}`;
  }

  test.skipIf(!Bun.which("zsh"))("zsh: the bash functions through bashcompinit, called as its compgen calls them", () => {
    const file = join(inst.dir, "ctrnet.zsh");
    writeFileSync(file, inst.ok(["completion", "zsh"]));
    expect(readFileSync(file, "utf8")).toStartWith("#compdef ctrnet\n");
    const zshComplete = (...words: string[]) => {
      const line = ["ctrnet", ...words];
      const program = [
        `source ${file}`,
        // bashcompinit's compgen runs the function under sh emulation (arrays from 0)
        "f() {",
        "  emulate -L sh; setopt kshglob noshglob braceexpand",
        `  COMP_WORDS=(${line.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${line.length - 1}`,
        '  _ctrnet_complete; printf "%s\\n" "${COMPREPLY[@]}"',
        "}",
        "f",
      ].join("\n");
      const r = Bun.spawnSync(["zsh", "-f", "-c", program], { env: { ...process.env, ...inst.env, PATH: pathWithCtrnet() }, stdout: "pipe", stderr: "pipe" });
      expect(r.stderr.toString()).toBe("");
      // bashcompinit's compgen leaves matching the typed word to zsh's own matcher
      const typed = line.at(-1)!;
      return r.stdout.toString().split("\n").filter((w) => w && w.startsWith(typed)).sort();
    };
    expect(zshComplete("network", "")).toEqual(["create", "exists", "inspect", "ls", "prune", "rm", "update"]);
    expect(zshComplete("--log-level", "debug", "network", "ls", "--no")).toEqual(["--no-trunc", "--noheading"]);
    if (privileged) expect(zshComplete("network", "inspect", "")).toEqual(["ctrnet", net.name]);
  });

  test.skipIf(!Bun.which("fish"))("fish: complete -C offers subcommands, options and names", () => {
    const file = join(inst.dir, "ctrnet.fish");
    writeFileSync(file, inst.ok(["completion", "fish"]));
    const fishComplete = (line: string) => {
      const r = Bun.spawnSync(["fish", "--no-config", "-c", `source ${file}; complete -C ${JSON.stringify(line)}`], {
        env: { ...process.env, ...inst.env, PATH: pathWithCtrnet() },
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(r.stderr.toString()).toBe("");
      return r.stdout.toString().split("\n").filter(Boolean).map((l) => l.split("\t")[0]!).sort();
    };
    expect(fishComplete("ctrnet netw")).toEqual(["network"]);
    expect(fishComplete("ctrnet --log-level debug network l")).toEqual(["ls"]);
    expect(fishComplete("ctrnet network ls --no")).toEqual(["--no-trunc", "--noheading"]);
    if (privileged) {
      expect(fishComplete("ctrnet network rm ")).toEqual(["ctrnet", net.name]);
      expect(fishComplete("ctrnet inspect ")).toEqual([id.slice(0, 12)]);
      expect(fishComplete("ctrnet run --network ")).toEqual(["ctrnet", net.name]);
    }
  });

  test("an unknown shell is refused", () => {
    const bad = inst.cli(["completion", "tcsh"]);
    expect({ code: bad.code, stdout: bad.stdout, stderr: bad.stderr }).toEqual({ code: 2, stdout: "", stderr: 'ctrnet: error: invalid shell "tcsh": use bash, zsh or fish\n' });
  });
});
