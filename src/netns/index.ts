// Namespace primitives: create, adopt, open, enter (synchronously), exec in, remove.
export { adoptNetns, createNetns, type Netns, type NetnsOptions } from "./create.ts";
export { defaultNetnsDir } from "./dir.ts";
export { withNetns } from "./enter.ts";
export { NetnsNotFoundError, NotANetnsError } from "./errors.ts";
export { spawnInNetns, type ExecOptions } from "./exec.ts";
export { listNetns } from "./list.ts";
export { withPrivateMounts } from "./mounts.ts";
export { currentNetnsId, openNetns } from "./open.ts";
export { removeNetns } from "./remove.ts";
