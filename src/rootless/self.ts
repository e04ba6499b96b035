// How to start this same ctrnet again. A compiled ctrnet is its own entry point; run from source
// (`bun src/cli/main.ts`), the entry is a script that bun must be given again.
import { join } from "node:path";
import { CtrnetError } from "../errors.ts";

const ENTRY = join(import.meta.dir, "../cli/main.ts");

/** argv prefix that runs ctrnet; append a command and its arguments. */
export function selfCommand(): string[] {
  if (Bun.main.startsWith("/$bunfs/")) return [process.execPath];
  if (Bun.main === ENTRY) return [process.execPath, ENTRY];
  // e.g. cli() called by a test runner: running Bun.main again would run the runner, not ctrnet
  throw new CtrnetError(`cannot start ctrnet again from ${Bun.main}: run dist/ctrnet or bun ${ENTRY}`);
}
