// ctrnet as a CNI plugin: the binary executed with CNI_COMMAND set (as `ctrnet`, or through a link named
// after the plugin type) reads the network configuration on stdin, does the command, and answers on
// stdout: a result for ADD, the versions for VERSION, an error object with the spec's code otherwise.
import { atLeast } from "../../drivers/cni/version.ts";
import { runtimeDir } from "../../state/db.ts";
import { add, check, del, gc, status, version } from "./commands.ts";
import { parsePluginInput, versionOf } from "./config.ts";
import { readPluginEnv } from "./env.ts";
import { CNI_CODE, CniPluginError, errorOutput, toPluginError } from "./plugin-error.ts";

export interface PluginRun {
  stdout: string;
  exitCode: number;
}

export function runCniPlugin(env: Readonly<Record<string, string | undefined>>, stdin: string): PluginRun {
  const answerVersion = versionOf(stdin);
  try {
    const plugin = readPluginEnv(env);
    if (plugin.command === "VERSION") return { stdout: `${JSON.stringify(version(answerVersion))}\n`, exitCode: 0 };
    const input = parsePluginInput(stdin);
    const ctx = { root: runtimeDir({ env }) };
    const needs = (minimum: string) => {
      if (!atLeast(input.cniVersion, minimum)) {
        throw new CniPluginError(CNI_CODE.incompatibleVersion, `${plugin.command} needs cniVersion ${minimum} or later, the configuration has ${input.cniVersion}`);
      }
    };
    switch (plugin.command) {
      case "ADD":
        return { stdout: `${JSON.stringify(add(ctx, plugin, input))}\n`, exitCode: 0 };
      case "DEL":
        del(ctx, plugin, input);
        break;
      case "CHECK":
        needs("0.4.0");
        check(ctx, plugin, input);
        break;
      case "GC":
        needs("1.1.0");
        gc(ctx, input);
        break;
      case "STATUS":
        needs("1.1.0");
        status();
        break;
    }
    return { stdout: "", exitCode: 0 };
  } catch (err) {
    return { stdout: errorOutput(toPluginError(err), answerVersion), exitCode: 1 };
  }
}

/** The process entry: stdin to the end, the answer to stdout, the exit code. */
export async function cniPluginMain(): Promise<number> {
  const stdin = process.env.CNI_COMMAND === "VERSION" && process.stdin.isTTY ? "" : await Bun.stdin.text();
  const { stdout, exitCode } = runCniPlugin(process.env, stdin);
  process.stdout.write(stdout);
  return exitCode;
}
