// The public face of src/netlink/nftables: the batch client, the change monitor, the typed objects and
// expressions, value builders, and errors.
export { Nftables, type CommitOptions, type ObjectFilter } from "./client.ts";
export { NftMonitor, decodeNotifications, type NftEvent, type ChangeOp } from "./monitor.ts";
export { NftBatchError, type BatchFailure } from "./acks.ts";
export type { Chain, ChainRef, ChainSpec, BaseChain, ChainType, Hook, Policy, Rule, RuleRef, RuleSpec, Table, TableRef, TableSpec } from "./objects.ts";
export { intervalElements, type NftSet, type SetElement, type SetFlag, type SetRef, type SetSpec } from "./sets.ts";
export { TABLE_FLAGS } from "./msg-table.ts";
export { type NftData, type Verdict } from "./data.ts";
export { NFPROTO, type NftFamily } from "./nfnl.ts";
export * from "./expr/index.ts";
export * from "./values.ts";
export * from "./registers.ts";
