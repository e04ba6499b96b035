// ctrnet's firewall: one nftables table, `inet ctrnet`, changed in atomic batches over netlink.
export { Firewall, type FirewallState, type StateSource } from "./firewall.ts";
export type { FirewallNetwork, PublishedPort, Protocol } from "./elements.ts";
export { TABLE as FIREWALL_TABLE } from "./ruleset.ts";
