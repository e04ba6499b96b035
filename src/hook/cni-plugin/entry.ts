// ctrnet as a CNI plugin: the binary executed with CNI_COMMAND set (as `ctrnet`, or through a link named
// after the plugin type) reads the network configuration on stdin, does the command, and answers on
// stdout: a result for ADD, the versions for VERSION, an error object with the spec's code otherwise.
import { writeSync } from "../../../ffi/fs.ts";
import { isTerminal } from "../../../ffi/libc.ts";
import { runCniPlugin } from "../../drivers/bridge/plugin/run.ts";
import { phase } from "../../trace.ts";
import { readStdin } from "../stdin.ts";

/** The process entry: stdin to the end, the answer to stdout, the exit code. */
export async function cniPluginMain(): Promise<number> {
  phase("plugin loaded");
  const stdin = process.env.CNI_COMMAND === "VERSION" && isTerminal(0) ? "" : (await readStdin())!.toString("utf8");
  phase("stdin read");
  const { stdout, exitCode } = await runCniPlugin(process.env, stdin);
  phase("plugin done");
  // a write(2) loop: process.stdout would load Node's streams, about 2 ms of the plugin's start (measured)
  const bytes = Buffer.from(stdout);
  for (let off = 0; off < bytes.length; ) off += writeSync(1, bytes, off);
  return exitCode;
}
