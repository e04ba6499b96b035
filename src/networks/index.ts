// Networks as the user manages them (`ctrnet network …`): CNI conflists in the config dir, plus what
// they leave on the host. The lifecycle calls ensureDefaultNetwork before attaching `--network bridge`.
export { createNetwork, ensureDefaultNetwork } from "./create.ts";
export { DEFAULT_BRIDGE, DEFAULT_NETWORK } from "./default.ts";
export { FILTER_KEYS, PRUNE_FILTER_KEYS, type NetworkFilters, networkMatcher, parseFilters } from "./filters.ts";
export { inspectNetworks, listNetworkInfo, type NetworkInfoListing, type NetworkInspectInfo, networkExists } from "./list.ts";
export { describeNetwork, type NetworkInfo, type SubnetInfo } from "./model.ts";
export { type CreateNetworkRequest, DRIVERS, parseKeyValues } from "./options.ts";
export { containersUsing, type DetachContainer, pruneNetworks, type RemoveOptions, removeNetwork } from "./remove.ts";
export { updateNetwork, type UpdateNetworkRequest } from "./update.ts";
