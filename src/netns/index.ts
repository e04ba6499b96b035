// Namespace primitives: create, adopt, open, probe, exec in, remove. None of them enters a namespace on this thread.
export { adoptNetns, createNetns, type Netns, type NetnsOptions } from "./create.ts";
export { defaultNetnsDir } from "./dir.ts";
export { NetnsNotFoundError, NotANetnsError } from "./errors.ts";
export { spawnInNetns, type ExecOptions, type NetnsProcess } from "./exec.ts";
export { listNetns } from "./list.ts";
export { currentNetnsId, openNetns } from "./open.ts";
export { removeNetns } from "./remove.ts";
export { netnsInode, netnsPresent, netnsUsable, plannedNetnsPath, removeOwnedNetns } from "./probe.ts";
export { readSysctl, writeSysctl, type SysctlKey } from "./sysctl.ts";
