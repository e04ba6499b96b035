// The public face of src/netlink: the typed client, its types and errors, and the codec layer for callers
// (and tests) that build or read messages themselves.
export { Netlink, type AddressFilter, type LinkUpdate, type RouteFilter } from "./netlink.ts";
export type { SocketOptions } from "./socket.ts";
export type {
  Link,
  LinkSummary,
  LinkRef,
  LinkSpec,
  VethSpec,
  BridgeSpec,
  MacvlanSpec,
  IpvlanSpec,
  MacvlanMode,
  IpvlanMode,
  BridgePortSettings,
  BridgeVlanOptions,
  LinkChanges,
} from "./links.ts";
export type { Address, AddressOptions, Family } from "./addresses.ts";
export type { Route, RouteSpec } from "./routes.ts";
export type { Rule, RuleSpec } from "./rules.ts";
export type { Stats64 } from "./msg-link.ts";
export { NetlinkError, NetlinkDumpInterruptedError, NetlinkMalformedError, isNetlinkError } from "./errors.ts";
export { bringLoopbackUp } from "./loopback.ts";
export { awaitLinkRemoved } from "./link-monitor.ts";
