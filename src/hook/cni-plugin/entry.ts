// ctrnet as a CNI plugin: the binary executed with CNI_COMMAND set (as `ctrnet`, or through a link named
// after the plugin type) reads the network configuration on stdin, does the command, and answers on
// stdout: a result for ADD, the versions for VERSION, an error object with the spec's code otherwise.
import { runCniPlugin } from "../../drivers/bridge/plugin/run.ts";

/** The process entry: stdin to the end, the answer to stdout, the exit code. */
export async function cniPluginMain(): Promise<number> {
  const stdin = process.env.CNI_COMMAND === "VERSION" && process.stdin.isTTY ? "" : await Bun.stdin.text();
  const { stdout, exitCode } = runCniPlugin(process.env, stdin);
  process.stdout.write(stdout);
  return exitCode;
}
