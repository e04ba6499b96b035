// What a native create or rm loads before its work begins: the compiled binary loads a command's whole static
// import graph at start, at about 7.5 µs per KB of minified code, and a Node built-in costs more than its
// size (node:net was 1 to 2 ms of every create). Code only some runs need comes by import().
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const scanner = new Bun.Transpiler({ loader: "ts" });

/** The files and the bare modules (node:fs, valibot…) reachable from entries by static imports and re-exports. */
function staticGraph(entries: readonly string[]): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    if (!file.endsWith(".ts")) return; // embedded text (C sources, package.json)
    for (const { path, kind } of scanner.scanImports(readFileSync(join(ROOT, file), "utf8"))) {
      if (kind !== "import-statement") continue;
      if (!path.startsWith(".")) {
        bare.add(path);
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), path));
      if (existsSync(join(ROOT, target))) visit(target);
    }
  };
  for (const entry of entries) visit(entry);
  return { files, bare };
}

/** What create and rm on a native network need of the runtime: files, paths, the database, libc (not node:os: signal numbers and a home directory come without it). */
const ALLOWED_BARE = ["node:fs", "node:path", "bun:sqlite", "bun:ffi", "valibot", "citty", "consola/core"];

/** Code for what a native bridge network never starts: user-mode networking, a rootless netns's way out, a new network, a macvlan/ipvlan attachment. */
const LAZY = [
  "src/drivers/slirp4netns/start.ts",
  "src/drivers/slirp4netns/api.ts",
  "src/drivers/pasta/start.ts",
  "src/drivers/pasta/way-out.ts",
  "src/drivers/portfwd/start.ts",
  "src/networks/plan.ts",
  "src/drivers/vlan/plugin.ts",
  "src/drivers/vlan/attach.ts",
  // the supervisor's own loop, which only `ctrnet _supervise` runs
  "src/lifecycle/supervisor-loop.ts",
];

/**
 * Schemas a native create never parses with (and rm only some), built at their first use (src/schema/lazy.ts):
 * no module-level valibot call in these files, none for the named constants in the others.
 */
const LAZY_SCHEMAS: [file: string, names?: string[]][] = [
  ["src/schema/dns.ts"],
  ["src/schema/cni-cache.ts"],
  ["src/schema/native-attachment.ts"],
  ["src/schema/vlan-attachment.ts"],
  ["src/schema/cni-result.ts", ["ResultCurrent", "Result020", "Route", "Interface", "IpConfig"]],
  ["src/schema/ctrnet-plugin.ts", ["CtrnetVlanPluginConfig"]],
  ["src/drivers/bridge/plugin/config.ts", ["VlanPluginInput"]],
];

describe("what create and rm load at start", () => {
  for (const [file, names] of LAZY_SCHEMAS) {
    test(`${file}: ${names ? names.join(", ") : "its schemas"} built at first use, not at load`, () => {
      const text = readFileSync(join(ROOT, file), "utf8");
      const pattern = names ? new RegExp(`^(export )?const (${names.join("|")}) =`, "m") : /^(export )?const \w+ = v\./m;
      expect(text.match(pattern)?.[0]).toBeUndefined();
    });
  }

  for (const command of ["create", "rm"]) {
    const graph = staticGraph(["src/cli/main.ts", `src/cli/commands/${command}.ts`]);

    test(`${command}: no Node built-in beyond files and paths (node:os, node:net, node:dns, streams…)`, () => {
      expect([...graph.bare].filter((m) => !ALLOWED_BARE.includes(m)).sort()).toEqual([]);
    });

    test(`${command}: the start code of user-mode helpers, network planning and macvlan/ipvlan attachments comes by import() only`, () => {
      expect(LAZY.filter((f) => graph.files.has(f))).toEqual([]);
      // the graph is the real one: its own command and the lifecycle are in it
      expect(graph.files.has(`src/lifecycle/${command === "rm" ? "remove" : "create"}.ts`)).toBe(true);
    });
  }
});
