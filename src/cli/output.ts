// Results go to stdout through here. process.stdout costs about 4.7 ms the first time it is touched in the
// compiled binary (measured), a noticeable share of a 10 ms command; a plain write(2) loop costs nothing.
import { writeSync } from "../../ffi/fs.ts";

let quiet = false;

/** podman's global --noout: the command's results are not printed (its errors still are, on stderr). */
export function suppressOutput(): void {
  quiet = true;
}

export function print(text: string): void {
  if (quiet) return;
  const bytes = Buffer.from(text);
  for (let off = 0; off < bytes.length; ) off += writeSync(1, bytes, off);
}
