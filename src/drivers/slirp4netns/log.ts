// A child's log on a file that has no name: nothing to clean up, whatever happens to the parent, and
// still readable through the descriptor when the child fails and its words are needed.
import { readFileSync, unlinkSync } from "../../../ffi/fs.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { close as closeFd, O_CREAT, O_EXCL, O_RDWR, open } from "../../../ffi/libc.ts";

export interface UnlinkedLog {
  /** Give this as the child's stdout and stderr. */
  readonly fd: number;
  /** The last maxBytes of what was written so far; "" after close(). */
  read(maxBytes?: number): string;
  close(): void;
}

const DEFAULT_TAIL = 4096;

export function openUnlinkedLog(prefix: string, dir: string = tmpdir()): UnlinkedLog {
  const path = join(dir, `${prefix}-${crypto.randomUUID()}.log`);
  const fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600);
  try {
    unlinkSync(path);
  } catch (err) {
    closeFd(fd);
    throw err;
  }
  let closed = false;
  return {
    fd,
    read(maxBytes = DEFAULT_TAIL) {
      // once closed, the number may already be someone else's descriptor
      if (closed) return "";
      // A new open file description through /proc: the child shares our offset, so reading through fd
      // itself would start where the child last wrote.
      const bytes = readFileSync(`/proc/self/fd/${fd}`);
      return bytes.subarray(Math.max(0, bytes.length - maxBytes)).toString("utf8");
    },
    close() {
      if (closed) return;
      closed = true;
      closeFd(fd);
    },
  };
}
