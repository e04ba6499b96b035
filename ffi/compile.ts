// C source embedded as text (`import source from "./x.c" with { type: "text" }`), compiled by bun:ffi's cc
// (TinyCC) on first use. Measured on the target machine, what a cc() call costs is mostly fixed: set-up and
// linking against libc about 1 ms (2.5 ms for the first call in a process), then about 0.5 ms for every symbol
// cc() itself binds, against under 0.1 ms for one bound by linkSymbols. So every unit whose module has been
// loaded by the time one is first used is compiled in that one cc() call, as separate translation units, and
// cc() binds a single symbol, a table of every function's address, from which linkSymbols binds the rest.
//
// Before its first compile, Bun writes its own headers (stdbool.h, stddef.h, …) into $BUN_TMPDIR/bun-cc-UID,
// /tmp by default, truncating the copies a previous process wrote. On a disk file system that costs a
// block release and a write-back each (ext4's replace-by-truncate), measured at 2 to 15 ms per process on a
// busy machine against about 0.1 ms on tmpfs. Bun reads BUN_TMPDIR from the C environment at that first
// compile, so a command can point it at a directory of its own (cc-dir.ts stageHeadersIn) without running again.
import { cc, type ConvertFns, type FFIFunction, linkSymbols, read, type Pointer } from "bun:ffi";
import { closeSync, mkdirSync, writeFileSync } from "./fs.ts";
import { compilerDirUsable, takeHeadersDir } from "./cc-dir.ts";
import * as libc from "./libc.ts";

type Symbols = Record<string, FFIFunction>;

interface Unit {
  name: string;
  source: string;
  symbols: Symbols;
}

const EXPORTS = "ctrnet_exports";
// Bun's default adds -g, debug information nothing reads, at a cost in compile time; TinyCC ignores -O2, and
// --export-all-symbols only matters for dynamic symbols, which in-memory code does not have.
const FLAGS = "-std=c11";

const pending: Unit[] = [];
const bound = new Map<Unit, unknown>();
// A unit that failed to compile fails the same way at every use, without joining (and failing) later compiles.
const failed = new Map<Unit, unknown>();
// The compiled code lives as long as the Library cc() returned: it must never be collected.
const libraries: unknown[] = [];

/** Points Bun at the staging directory for the compile that follows; returns what undoes it. */
function stageHeaders(): () => void {
  const dir = takeHeadersDir()?.();
  if (dir === undefined || process.env.BUN_TMPDIR) return () => {};
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    return () => {};
  }
  if (!compilerDirUsable({ BUN_TMPDIR: dir })) return () => {};
  libc.setenv("BUN_TMPDIR", dir);
  // Bun keeps the directory for the process's life once it has used it: the children need not inherit it
  return () => libc.unsetenv("BUN_TMPDIR");
}

/** The generated unit whose one function returns the address of every unit's symbols, in order. */
function exportsUnit(names: string[]): string {
  // Declared without their real types, which this unit never calls through: only the addresses are taken.
  const declarations = names.map((n) => `void ${n}(void);\n`).join("");
  return `${declarations}static void *const table[] = {${names.map((n) => `(void *)${n}`).join(", ")}};\nvoid *${EXPORTS}(void) { return (void *)table; }\n`;
}

/**
 * cc() reads sources by path, and cannot read the /$bunfs/ path of a file embedded in a compiled binary, so each
 * goes in an in-memory file; #line keeps the unit's own name in TinyCC's messages.
 */
function memoryFile(name: string, text: string): number {
  const fd = libc.memfdCreate(name);
  try {
    writeFileSync(fd, `#line 1 "${name}"\n${text}`);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function compilePending(): void {
  const units = pending.splice(0);
  const names = units.flatMap((u) => Object.keys(u.symbols));
  const files = [...units, { name: "exports.c", source: exportsUnit(names) }];
  const fds: number[] = [];
  const unstage = stageHeaders();
  try {
    for (const f of files) fds.push(memoryFile(f.name, f.source));
    const lib = cc({
      // cc() takes an array of sources (one TinyCC state, one link) though its types only name a single path.
      source: fds.map((fd) => `/proc/self/fd/${fd}`) as unknown as string,
      flags: FLAGS,
      symbols: { [EXPORTS]: { args: [], returns: "ptr" } },
    });
    libraries.push(lib);
    const table = lib.symbols[EXPORTS]!() as Pointer;
    let index = 0;
    for (const unit of units) {
      const fns = Object.fromEntries(Object.entries(unit.symbols).map(([name, fn]) => [name, { ...fn, ptr: read.ptr(table, 8 * index++) as Pointer }]));
      const linked = linkSymbols(fns);
      libraries.push(linked);
      bound.set(unit, linked.symbols);
    }
  } catch (err) {
    for (const unit of units) if (!bound.has(unit)) failed.set(unit, err);
    throw err;
  } finally {
    unstage();
    for (const fd of fds) closeSync(fd);
  }
}

/**
 * Declares a unit of embedded C and returns the accessor of its symbols. Nothing is compiled until the
 * accessor is first called; then every unit declared so far is compiled together, linked as one, so a unit's
 * global names must differ from every other unit's (its static ones need not).
 */
export function embedC<Fns extends Symbols>(name: string, source: string, symbols: Fns): () => ConvertFns<Fns> {
  const unit: Unit = { name, source, symbols };
  pending.push(unit);
  let fns: ConvertFns<Fns> | undefined;
  return () => {
    if (fns) return fns;
    if (failed.has(unit)) throw failed.get(unit);
    if (!bound.has(unit)) compilePending();
    fns = bound.get(unit) as ConvertFns<Fns>;
    return fns;
  };
}
