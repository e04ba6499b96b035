// stdin to the end with read(2), for the OCI hook's state and the CNI plugin's configuration. Bun's stream of
// it costs about 0.5 ms of a command (measured on an ADD), and process.stdin 3 to 5 ms the first time it is
// touched in the compiled binary. A non-blocking stdin (EAGAIN) has its rest read through the stream after all.
import { readSync } from "../../ffi/fs.ts";

/** All of stdin, or null once it has more than max bytes (the rest is left unread). No stdin at all: empty. */
export async function readStdin(max = Number.POSITIVE_INFINITY): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  let size = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EBADF") break;
      if (code !== "EAGAIN") throw err;
      const rest = Buffer.from(await Bun.stdin.arrayBuffer());
      size += rest.length;
      chunks.push(rest);
      break;
    }
    if (n === 0) break;
    size += n;
    if (size > max) return null;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return size > max ? null : Buffer.concat(chunks);
}
