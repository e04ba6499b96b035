// ctrnet as a CNI plugin: the binary executed with CNI_COMMAND set (as `ctrnet`, or through a link named
// after the plugin type) reads the network configuration on stdin, does the command, and answers on
// stdout: a result for ADD, the versions for VERSION, an error object with the spec's code otherwise.
import { readSync, writeSync } from "node:fs";
import { runCniPlugin } from "../../drivers/bridge/plugin/run.ts";
import { phase } from "../../trace.ts";

/** The process entry: stdin to the end, the answer to stdout, the exit code. */
export async function cniPluginMain(): Promise<number> {
  phase("plugin loaded");
  const stdin = process.env.CNI_COMMAND === "VERSION" && process.stdin.isTTY ? "" : await readStdin();
  phase("stdin read");
  const { stdout, exitCode } = runCniPlugin(process.env, stdin);
  phase("plugin done");
  // a write(2) loop: process.stdout would load Node's streams, about 2 ms of the plugin's start (measured)
  const bytes = Buffer.from(stdout);
  for (let off = 0; off < bytes.length; ) off += writeSync(1, bytes, off);
  return exitCode;
}

/**
 * stdin to the end with read(2), which spares Bun's stream of it (measured: about 0.5 ms of an ADD). A
 * non-blocking stdin (EAGAIN) has its rest read through that stream after all.
 */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(64 * 1024);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // no stdin at all: no configuration, which the plugin answers as such
      if (code === "EBADF") break;
      if (code !== "EAGAIN") throw err;
      chunks.push(Buffer.from(await Bun.stdin.arrayBuffer()));
      break;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}
