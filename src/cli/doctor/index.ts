// `ctrnet doctor`: every check, in the order a user would fix things (the machine, the programs, the
// firewall, the networks, the ports, ctrnet's own state).
import type { Context } from "../../lifecycle/index.ts";
import { networkBridge } from "../../networks/model.ts";
import type { Finding } from "./finding.ts";
import { checkFirewall } from "./firewall.ts";
import { checkHelpers, checkIdMaps, checkPlugins, checkTun } from "./host.ts";
import { checkSubnets, hostRoutes } from "./networks.ts";
import { checkPodmanView } from "./podman.ts";
import { checkPorts } from "./ports.ts";
import { checkState } from "./state.ts";

export type { Finding, Status } from "./finding.ts";

export async function runDoctor(ctx: Context): Promise<Finding[]> {
  const { networks, problems } = await ctx.cni.listNetworks();
  const records = ctx.state().list();
  const bridges = networks.map(networkBridge).filter((b): b is string => b !== undefined);
  return [
    checkTun(ctx.rootless),
    ...checkIdMaps(),
    ...checkHelpers(ctx.rootless),
    ...checkPlugins(ctx.cni.pluginPath, networks),
    ...problems.map((p) => ({ check: "networks", status: "problem" as const, detail: p.message, fix: "fix or remove that file" })),
    ...checkFirewall(bridges),
    ...checkSubnets(networks, ctx.rootless ? undefined : hostRoutes()),
    ...checkPodmanView(networks, ctx.rootless),
    ...checkPorts(records),
    ...checkState(records),
  ];
}
