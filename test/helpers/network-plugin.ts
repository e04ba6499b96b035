// Which plugin the networks the tests make are served by: ctrnet's own (the default, as `network create`
// writes), or the reference chain when CTRNET_TEST_NETWORK_PLUGIN=cni (scripts/test.ts's integration-cni
// and rootless-cni suites run the same files that way). Tests of the chain's own specifics (iptables
// rules, portmap, a plugin of their own in the chain) make chain networks whatever this says.
import { bridgeConflist, nativeConflist, type NativeNetworkSpec } from "../../src/drivers/cni/conflist.ts";
import { Firewall, type FirewallNetwork } from "../../src/drivers/firewall/index.ts";

export type TestNetworkPlugin = "ctrnet" | "cni";

export const TEST_NETWORK_PLUGIN: TestNetworkPlugin = process.env.CTRNET_TEST_NETWORK_PLUGIN === "cni" ? "cni" : "ctrnet";

/** The conflist of a bridge network served by the plugin under test. */
export function testBridgeConflist(spec: NativeNetworkSpec): Record<string, unknown> {
  return TEST_NETWORK_PLUGIN === "cni" ? bridgeConflist(spec) : nativeConflist(spec);
}

/**
 * Makes the published ports of the plugin's networks stop answering, as a firewall reload would: the
 * reference chain's DNAT chain, or ctrnet's port maps, emptied.
 */
export function flushPortForwarding(plugin: TestNetworkPlugin): boolean {
  const cmds = plugin === "cni" ? [["iptables", "-t", "nat", "-F", "CNI-HOSTPORT-DNAT"]] : [["nft", "flush", "map", "inet", "ctrnet", "ports4"], ["nft", "flush", "map", "inet", "ctrnet", "hostports4"]];
  return cmds.every((cmd) => Bun.spawnSync(cmd, { stdout: "ignore", stderr: "ignore" }).exitCode === 0);
}

/** `network create` options that pick the plugin under test (none: ctrnet's own is the default). */
export function pluginCreateOptions(): string[] {
  return TEST_NETWORK_PLUGIN === "cni" ? ["-o", "plugin=cni"] : [];
}

/**
 * What the plugin under test makes for a network with its first container and keeps until `network rm`,
 * made up front as a test makes the bridge, so that it belongs to the state every test starts from: for
 * ctrnet's plugin, the network's subnets and bridge in the `inet ctrnet` table (the table too, if need be).
 */
export function prepareTestNetwork(network: FirewallNetwork): void {
  if (TEST_NETWORK_PLUGIN !== "ctrnet") return;
  using fw = Firewall.open();
  if (!fw.present()) fw.rebuild([], []);
  fw.ensureNetwork(network);
}

/** Undoes what the network's first container put into ctrnet's table, for a network no `network rm` takes (the default one). */
export function removeNetworkFirewall(network: FirewallNetwork): void {
  using fw = Firewall.open();
  if (!fw.present()) return;
  fw.removeNetwork(network);
  fw.dropIfUnused();
}
