// One CNI call of ctrnet's plugin (`type: ctrnet`): the CNI_* variables and the configuration that came on
// stdin in, the answer for stdout and the exit code out. The binary's plugin mode (src/hook/cni-plugin)
// and ctrnet's own CNI runtime (which calls it in-process instead of starting itself again) both run it.
import { atLeast } from "../../cni/version.ts";
import { runtimeDir } from "../../../state/runtime-dir.ts";
import { add, check, del, gc, PLUGIN_OWNER, status, version } from "./commands.ts";

/** Set by ctrnet's own CNI runtime when it runs the plugin in-process: whose the attachments are. */
export const OWNER_VARIABLE = "CTRNET_PLUGIN_OWNER";
import { addVlan, checkVlan, delVlan, gcVlan } from "../../vlan/plugin.ts";
import { isVlanInput, parsePluginInput, versionOf } from "./config.ts";
import { readPluginEnv } from "./env.ts";
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

export function runCniPlugin(env: Readonly<Record<string, string | undefined>>, stdin: string, inProcess: InProcessOptions = {}): PluginRun {
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
    const vlan = isVlanInput(input) ? input : undefined;
    const bridge = isVlanInput(input) ? undefined : input;
    switch (plugin.command) {
      case "ADD":
        return { stdout: `${JSON.stringify(vlan ? addVlan(ctx, plugin, vlan) : add(ctx, plugin, bridge!))}\n`, exitCode: 0 };
      case "DEL":
        if (vlan) delVlan(ctx, plugin, vlan);
        else del(ctx, plugin, bridge!);
        break;
      case "CHECK":
        needs("0.4.0");
        if (vlan) checkVlan(ctx, plugin, vlan);
        else check(ctx, plugin, bridge!);
        break;
      case "GC":
        needs("1.1.0");
        if (vlan) gcVlan(ctx, vlan);
        else gc(ctx, bridge!);
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
