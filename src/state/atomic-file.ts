// A state file written whole or not at all: a reader, or a crash, never sees half of one.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "../../ffi/fs.ts";
import { dirname } from "node:path";

/**
 * Write-to-temp then rename, mode 0600. A missing directory is made 0700; an existing one is left as it is,
 * since it may be ctrnet's whole state directory.
 */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, text, { mode: 0o600 });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
