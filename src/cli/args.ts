// Argument groups shared by several commands.
import type { ArgsDef } from "citty";

export const globalArgs = {
  "log-level": { type: "string", description: "silent, error, warn, info, debug or trace (env CTRNET_LOG_LEVEL)" },
} as const satisfies ArgsDef;

export const netnsDirArg = {
  "netns-dir": { type: "string", description: "directory of persistent network namespaces (env CTRNET_NETNS_DIR)" },
} as const satisfies ArgsDef;
