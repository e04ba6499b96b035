// The compiled ctrnet this process runs, for what is written to point back at it (a CNI plugin link, a
// systemd unit).
import { realpathSync } from "../../ffi/fs.ts";
import { basename } from "node:path";
import { UsageError } from "../errors.ts";

/** The binary being run: a compiled ctrnet, not bun running the sources (that would name bun). */
export function selfBinary(what: string): string {
  const self = realpathSync(process.execPath);
  if (basename(self) === "bun") throw new UsageError(`${what} needs the compiled binary (dist/ctrnet), not bun running the sources`);
  return self;
}
