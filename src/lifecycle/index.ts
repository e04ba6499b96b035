// The container lifecycle: what the CLI, the OCI hook and `ctrnet run` call.
export { connectContainer, disconnectContainer } from "./connect.ts";
export { type Context, type ContextOptions, createContext } from "./context.ts";
export { withContext } from "./with-context.ts";
export { createContainer, createContainerUninterrupted } from "./create.ts";
export { gc } from "./gc.ts";
export { degradedHelper, inspectContainer, parsePortQuery, portLines, publishedPorts } from "./inspect.ts";
export type { InspectAdditionalNetwork, InspectBasicNetworkConfig, InspectNetworkSettings, InspectResult } from "./inspect-format.ts";
export { latestContainer, listContainers } from "./lookup.ts";
export { formatNetworkMode, parseNetworkMode } from "./mode.ts";
export { reloadableContainers, reloadContainer } from "./reload.ts";
export { removeContainer } from "./remove.ts";
export { containerStats } from "./stats.ts";
export type { ConnectOptions, CreateRequest, GcReport, InterfaceStats, NetworkRequest, RemoveOptions } from "./types.ts";
