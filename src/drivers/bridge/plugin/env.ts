// What the runtime hands a plugin in its environment (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
// CNI_ARGS, CNI_PATH), checked the way the reference plugins' skel checks it.
import { validateIfName } from "../../cni/ifname.ts";
import { errorMessage } from "../../../errors.ts";
import { validateName } from "../../../names.ts";
import { CNI_CODE, CniPluginError } from "./plugin-error.ts";

export const COMMANDS = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface PluginEnv {
  command: CniCommand;
  containerId?: string;
  netns?: string;
  /** A DEL that names no netns (CNI_NETNS empty or absent): the runtime removed it. */
  netnsGone?: boolean;
  ifname?: string;
  args: Map<string, string>;
}

/** CNI_ARGS keys ctrnet reads or that runtimes send as a matter of course (ocicni, CRI). */
const KNOWN_ARGS = new Set(["IgnoreUnknown", "IP", "MAC", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID", "K8S_POD_UID"]);

function invalid(message: string): CniPluginError {
  return new CniPluginError(CNI_CODE.invalidEnvironment, message);
}

export function parseCniArgs(text: string): Map<string, string> {
  const args = new Map<string, string>();
  for (const pair of text.split(";").filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw invalid(`CNI_ARGS: invalid pair ${JSON.stringify(pair)}: expected KEY=VALUE`);
    args.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const ignoreUnknown = ["1", "true"].includes((args.get("IgnoreUnknown") ?? "").toLowerCase());
  const unknown = [...args.keys()].filter((k) => !KNOWN_ARGS.has(k));
  if (unknown.length && !ignoreUnknown) throw invalid(`CNI_ARGS: unknown argument ${unknown.join(", ")} (set IgnoreUnknown=1 to pass it)`);
  return args;
}

/** Which variables each command needs, as the spec lists them. */
const NEEDS: Record<CniCommand, readonly ("containerId" | "netns" | "ifname")[]> = {
  ADD: ["containerId", "netns", "ifname"],
  CHECK: ["containerId", "netns", "ifname"],
  DEL: ["containerId", "ifname"],
  STATUS: [],
  GC: [],
  VERSION: [],
};

export function readPluginEnv(env: Readonly<Record<string, string | undefined>>): PluginEnv {
  const command = env.CNI_COMMAND ?? "";
  if (!(COMMANDS as readonly string[]).includes(command)) throw invalid(`CNI_COMMAND ${JSON.stringify(command)} is not one of ${COMMANDS.join(", ")}`);
  // libcni validates a conflist by running VERSION with "dummy" in every other variable: only what a
  // command uses is read and checked.
  if (command === "VERSION" || command === "STATUS" || command === "GC") return { command, args: new Map() };
  const out: PluginEnv = { command: command as CniCommand, args: parseCniArgs(env.CNI_ARGS ?? "") };
  for (const need of NEEDS[out.command]) {
    const name = { containerId: "CNI_CONTAINERID", netns: "CNI_NETNS", ifname: "CNI_IFNAME" }[need];
    if (!env[name]) throw invalid(`${name} is required for ${command}`);
  }
  try {
    if (env.CNI_CONTAINERID) out.containerId = validateName("container id", env.CNI_CONTAINERID);
    if (env.CNI_IFNAME) out.ifname = validateIfName("interface name", env.CNI_IFNAME);
  } catch (err) {
    throw invalid(errorMessage(err));
  }
  if (env.CNI_NETNS && NEEDS[out.command].includes("netns")) {
    if (!env.CNI_NETNS.startsWith("/")) throw invalid(`CNI_NETNS must be an absolute path, not ${JSON.stringify(env.CNI_NETNS)}`);
    out.netns = env.CNI_NETNS;
  }
  if (out.command === "DEL" && !env.CNI_NETNS) out.netnsGone = true;
  return out;
}
