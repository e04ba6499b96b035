// One CNI call of ctrnet's plugin (`type: ctrnet`): the CNI_* variables and the configuration that came on
// stdin in, the answer for stdout and the exit code out. The binary's plugin mode (src/hook/cni-plugin)
// and ctrnet's own CNI runtime (which calls it in-process instead of starting itself again) both run it.
import { atLeast } from "../../cni/version.ts";
import { runtimeDir } from "../../../state/runtime-dir.ts";
import { add, check, del, gc, type PluginContext, PLUGIN_OWNER, status, version } from "./commands.ts";
import type { WireResult } from "../../cni/result.ts";

/** Set by ctrnet's own CNI runtime when it runs the plugin in-process: whose the attachments are. */
export const OWNER_VARIABLE = "CTRNET_PLUGIN_OWNER";
import { isVlanInput, parsePluginInput, type PluginInput, versionOf, type VlanPluginInput } from "./config.ts";
import { type PluginEnv, readPluginEnv } from "./env.ts";
import { phase } from "../../../trace.ts";
import { CNI_CODE, CniPluginError, errorOutput, toPluginError } from "./plugin-error.ts";

export interface PluginRun {
  stdout: string;
  exitCode: number;
}

/** What a runtime calling the plugin in-process knows beyond what a plugin process would be handed. */
export interface InProcessOptions {
  /** The netns the bridge and the nftables table live in (a rootless user's rootless netns); default: this one. */
  hostNetnsFd?: number;
  /** host-local's dataDir when the configuration names none; default /var/lib/cni/networks. */
  ipamDataDir?: string;
}

/** ADD, DEL, CHECK and GC of one network's configuration. */
interface Commands {
  add(ctx: PluginContext, env: PluginEnv): WireResult;
  del(ctx: PluginContext, env: PluginEnv): void;
  check(ctx: PluginContext, env: PluginEnv): void;
  gc(ctx: PluginContext): void;
}

function bridgeCommands(input: PluginInput): Commands {
  return {
    add: (ctx, env) => add(ctx, env, input),
    del: (ctx, env) => del(ctx, env, input),
    check: (ctx, env) => check(ctx, env, input),
    gc: (ctx) => gc(ctx, input),
  };
}

function vlanCommands(vlan: typeof import("../../vlan/plugin.ts"), input: VlanPluginInput): Commands {
  return {
    add: (ctx, env) => vlan.addVlan(ctx, env, input),
    del: (ctx, env) => vlan.delVlan(ctx, env, input),
    check: (ctx, env) => vlan.checkVlan(ctx, env, input),
    gc: (ctx) => vlan.gcVlan(ctx, input),
  };
}

/**
 * The call's answer. Async only to load the macvlan/ipvlan plugin (src/drivers/vlan, some 20 KB of source)
 * when a call is for such a network: a bridge network's call, every native create's and rm's, loads none of it.
 */
export async function runCniPlugin(env: Readonly<Record<string, string | undefined>>, stdin: string, inProcess: InProcessOptions = {}): Promise<PluginRun> {
  const answerVersion = versionOf(stdin);
  try {
    const plugin = readPluginEnv(env);
    if (plugin.command === "VERSION") return { stdout: `${JSON.stringify(version(answerVersion))}\n`, exitCode: 0 };
    const input = parsePluginInput(stdin);
    phase("input parsed");
    const ctx = { root: runtimeDir({ env }), owner: env[OWNER_VARIABLE] || PLUGIN_OWNER, ...inProcess };
    const needs = (minimum: string) => {
      if (!atLeast(input.cniVersion, minimum)) {
        throw new CniPluginError(CNI_CODE.incompatibleVersion, `${plugin.command} needs cniVersion ${minimum} or later, the configuration has ${input.cniVersion}`);
      }
    };
    // a macvlan or ipvlan network's entry (src/drivers/vlan), else a bridge network's
    const commands = isVlanInput(input) ? vlanCommands(await import("../../vlan/plugin.ts"), input) : bridgeCommands(input);
    switch (plugin.command) {
      case "ADD":
        return { stdout: `${JSON.stringify(commands.add(ctx, plugin))}\n`, exitCode: 0 };
      case "DEL":
        commands.del(ctx, plugin);
        break;
      case "CHECK":
        needs("0.4.0");
        commands.check(ctx, plugin);
        break;
      case "GC":
        needs("1.1.0");
        commands.gc(ctx);
        break;
      case "STATUS":
        needs("1.1.0");
        status(ctx);
        break;
    }
    return { stdout: "", exitCode: 0 };
  } catch (err) {
    return { stdout: errorOutput(toPluginError(err), answerVersion), exitCode: 1 };
  }
}
