// Compiles C source that was embedded as text (`import source from "./x.c" with { type: "text" }`).
// Inside a compiled binary, cc() cannot read the /$bunfs/ path of an embedded file, so the source is written
// to a private directory for the length of the compile and removed right after.
import { cc, type FFIFunction, type Library } from "bun:ffi";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function compileEmbedded<Fns extends Record<string, FFIFunction>>(
  name: string,
  source: string,
  symbols: Fns,
): Library<Fns> {
  // mkdtemp creates the directory 0700, so nobody else can swap the file between write and compile.
  const dir = mkdtempSync(join(tmpdir(), "ctrnet-cc-"));
  try {
    const file = join(dir, `${name}.c`);
    writeFileSync(file, source, { mode: 0o600 });
    return cc({ source: file, symbols });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
