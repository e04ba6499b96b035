// What tells a file read earlier by this process from the one at its path now: a file changed in place
// (its size or times), or replaced (its inode), has another stamp.
import { statSync } from "../../../ffi/fs.ts";

/** undefined when the file cannot be looked at (missing, say). */
export function fileStamp(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch {
    return undefined;
  }
}
