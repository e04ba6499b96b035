// The layer order of DESIGN.md, enforced: every import under src/ and ffi/ points down (or within its own
// layer), no files import each other in a circle, only ffi/ imports bun:ffi, and only ffi/fs.ts node:fs.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

/**
 * Top first. A file belongs to the first layer whose prefix its path (from the repository root) starts
 * with; a file may import its own layer and every layer below it.
 */
export const LAYERS: readonly { name: string; prefixes: readonly string[] }[] = [
  { name: "cli", prefixes: ["src/cli/"] },
  { name: "hook", prefixes: ["src/hook/"] },
  { name: "lifecycle", prefixes: ["src/lifecycle/"] },
  { name: "networks", prefixes: ["src/networks/"] },
  { name: "drivers", prefixes: ["src/drivers/"] },
  { name: "rootless", prefixes: ["src/rootless/"] },
  { name: "container", prefixes: ["src/container/"] },
  { name: "state", prefixes: ["src/state/"] },
  { name: "process", prefixes: ["src/process/"] },
  { name: "netlink", prefixes: ["src/netlink/"] },
  { name: "netns", prefixes: ["src/netns/"] },
  { name: "schema", prefixes: ["src/schema/"] },
  { name: "ip", prefixes: ["src/ip/"] },
  { name: "base", prefixes: ["src/errors.ts", "src/log.ts", "src/names.ts", "src/version.ts", "src/identity.ts", "src/trace.ts", "src/filters.ts"] },
  { name: "ffi", prefixes: ["ffi/"] },
];

export function layerOf(path: string): number {
  const i = LAYERS.findIndex((l) => l.prefixes.some((p) => path.startsWith(p)));
  if (i === -1) throw new Error(`${path} is in no layer of architecture.test.ts: add its folder to LAYERS (and to DESIGN.md)`);
  return i;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Static imports and exports (type-only ones too: they tie the files together as much) and import(). */
const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

export function importsOf(text: string): string[] {
  const out: string[] = [];
  // Comments may quote code; they import nothing.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  for (const m of code.matchAll(IMPORT)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

export interface Graph {
  /** file -> the repository files it imports */
  edges: Map<string, string[]>;
  /** file -> bare modules it imports (node:fs, bun:ffi, valibot) */
  external: Map<string, string[]>;
}

export function buildGraph(files: readonly string[], read: (path: string) => string): Graph {
  const edges = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  for (const file of files) {
    const local: string[] = [];
    const bare: string[] = [];
    for (const spec of importsOf(read(file))) {
      if (!spec.startsWith(".")) bare.push(spec);
      else if (/\.ts$/.test(spec)) local.push(relative(ROOT, resolve(ROOT, dirname(file), spec)));
    }
    edges.set(file, local);
    external.set(file, bare);
  }
  return { edges, external };
}

export function upwardImports(graph: Graph): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph.edges) {
    const from = layerOf(file);
    for (const target of targets) {
      const to = layerOf(target);
      if (to < from) out.push(`${file} (${LAYERS[from]!.name}) imports ${target} (${LAYERS[to]!.name})`);
    }
  }
  return out;
}

/** Tarjan's strongly connected components with more than one file, or a file importing itself. */
export function cycles(graph: Graph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.edges.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of graph.edges.keys()) if (!index.has(v)) visit(v);
  return found;
}

const files = [...sourceFiles("src"), ...sourceFiles("ffi")];
const graph = buildGraph(files, (path) => readFileSync(join(ROOT, path), "utf8"));

describe("architecture", () => {
  test("every file is in a layer", () => {
    for (const file of files) expect(() => layerOf(file)).not.toThrow();
  });

  test("imports point down the layer order", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  test("no import cycles", () => {
    expect(cycles(graph).map((c) => c.join(" -> "))).toEqual([]);
  });

  test("only ffi/ imports bun:ffi", () => {
    const importers = [...graph.external].filter(([file, specs]) => specs.includes("bun:ffi") && !file.startsWith("ffi/")).map(([f]) => f);
    expect(importers).toEqual([]);
  });

  test("only ffi/fs.ts imports node:fs (its load costs every command about 0.7 ms; ffi/fs.ts does the calls over libc)", () => {
    const importers = [...graph.external].filter(([file, specs]) => specs.some((s) => s === "node:fs" || s === "fs") && file !== "ffi/fs.ts").map(([f]) => f);
    expect(importers).toEqual([]);
  });

  test("every relative import names a file that exists", () => {
    const missing = [...graph.edges].flatMap(([file, targets]) => targets.filter((t) => !files.includes(t)).map((t) => `${file} -> ${t}`));
    expect(missing).toEqual([]);
  });

  test("the checks catch what they are for", () => {
    const fake = new Map<string, string>([
      ["src/state/a.ts", `import { x } from "../lifecycle/b.ts";`],
      ["src/lifecycle/b.ts", `import type { y } from "./c.ts";\n// import { z } from "../cli/d.ts";`],
      ["src/lifecycle/c.ts", `export { y } from "./b.ts";`],
    ]);
    const g = buildGraph([...fake.keys()], (p) => fake.get(p)!);
    expect(upwardImports(g)).toEqual(["src/state/a.ts (state) imports src/lifecycle/b.ts (lifecycle)"]);
    expect(cycles(g)).toEqual([["src/lifecycle/b.ts", "src/lifecycle/c.ts"]]);
  });
});
