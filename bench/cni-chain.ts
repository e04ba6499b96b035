// The smallest CNI runtime that does the job, so the bench can show what the reference plugins cost by
// themselves: each plugin of a conflist is executed in order with the CNI_* environment and its configuration
// on stdin, the previous plugin's result passed on as prevResult; DEL runs the list in reverse with the ADD
// result, as libcni does. It runs inside the bench process, so no runtime start-up is counted, only the plugins'
// own exec, work and exit. Nothing of ctrnet is imported. It also runs ctrnet's own plugin (`type: ctrnet`), found in
// a directory the caller names, the way any CNI runtime would.
import { existsSync } from "node:fs";
import { timed } from "./processes.ts";

const PLUGIN_DIRS = ["/usr/lib/cni", "/opt/cni/bin"].filter((d) => existsSync(d));

export interface Conflist {
  cniVersion: string;
  name: string;
  plugins: Array<{ type: string; capabilities?: Record<string, boolean> } & Record<string, unknown>>;
}

export interface ChainAttachment {
  containerId: string;
  netnsPath: string;
  ifName: string;
  /** Capability name -> value; a plugin gets the ones it declares, in runtimeConfig. */
  capabilityArgs: Record<string, unknown>;
}

function pluginPath(type: string, dirs: readonly string[]): string {
  const dir = dirs.find((d) => existsSync(`${d}/${type}`));
  if (!dir) throw new Error(`CNI plugin ${type} not found in ${dirs.join(", ")}`);
  return `${dir}/${type}`;
}

/** Runs one plugin; returns its stdout and how long it took. */
function invoke(command: "ADD" | "DEL", list: Conflist, index: number, att: ChainAttachment, prevResult: unknown, dirs: readonly string[]): { stdout: string; ms: number } {
  const plugin = list.plugins[index]!;
  const runtimeConfig = Object.fromEntries(
    Object.keys(plugin.capabilities ?? {}).filter((c) => plugin.capabilities?.[c] && att.capabilityArgs[c] !== undefined).map((c) => [c, att.capabilityArgs[c]]),
  );
  const config = {
    ...plugin,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(runtimeConfig).length ? { runtimeConfig } : {}),
    ...(prevResult !== undefined ? { prevResult } : {}),
  };
  const env = {
    PATH: process.env.PATH,
    CNI_COMMAND: command,
    CNI_CONTAINERID: att.containerId,
    CNI_NETNS: att.netnsPath,
    CNI_IFNAME: att.ifName,
    CNI_ARGS: "IgnoreUnknown=1",
    CNI_PATH: dirs.join(":"),
  };
  return timed([pluginPath(plugin.type, dirs)], { env, stdin: new TextEncoder().encode(JSON.stringify(config)) });
}

/** ADD through the whole list: the final result, which DEL needs, and each plugin's time in list order. */
export function chainAdd(list: Conflist, att: ChainAttachment, dirs: readonly string[] = PLUGIN_DIRS): { result: unknown; pluginMs: number[] } {
  let result: unknown;
  const pluginMs: number[] = [];
  for (let i = 0; i < list.plugins.length; i++) {
    const r = invoke("ADD", list, i, att, result, dirs);
    result = JSON.parse(r.stdout);
    pluginMs.push(r.ms);
  }
  return { result, pluginMs };
}

/** DEL through the list in reverse; each plugin's time, in list order. */
export function chainDel(list: Conflist, att: ChainAttachment, addResult: unknown, dirs: readonly string[] = PLUGIN_DIRS): number[] {
  const pluginMs: number[] = [];
  for (let i = list.plugins.length - 1; i >= 0; i--) pluginMs[i] = invoke("DEL", list, i, att, addResult, dirs).ms;
  return pluginMs;
}
