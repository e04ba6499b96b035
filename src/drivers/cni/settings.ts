// The resolved settings every operation runs with, and the checks on what callers hand in.
import { UsageError } from "../../errors.ts";
import { validateName } from "../../names.ts";
import type { ExecOptions } from "./exec.ts";
import { validateIfName } from "./ifname.ts";

export interface CniContext {
  configDirs: readonly string[];
  cacheDir: string;
  /**
   * Written into every cache file this runtime makes; GC collects only attachments carrying it, since
   * podman, containerd and CRI-O keep theirs in the same cache directory.
   */
  owner: string;
  exec: ExecOptions;
}

export type CniArgs = readonly (readonly [string, string])[];

/** CNI_ARGS is `K=V;K=V`: a key with `=` or `;`, or a value with `;`, would be read back as something else. */
export function validateCniArgs(args: CniArgs): CniArgs {
  for (const [key, value] of args) {
    if (key === "" || /[=;]/.test(key)) throw new UsageError(`invalid CNI argument name "${key}": must be non-empty without "=" or ";"`);
    if (value.includes(";")) throw new UsageError(`invalid value for CNI argument ${key}: must not contain ";"`);
  }
  return args;
}

/** A file name's limit, less what the cache's temporary file adds to the three names (cache.ts). */
const MAX_KEY_BYTES = 255 - ".--..tmp".length - 12;

/** Network name, container id and interface name become the cache file's name: checked every time. */
export function validateAttachmentKey(network: string, containerId: string, ifName: string): void {
  validateName("network name", network);
  validateName("container id", containerId);
  validateIfName("interface name", ifName);
  if (network.length + containerId.length + ifName.length > MAX_KEY_BYTES) {
    throw new UsageError(
      `network name ${network.length} and container id ${containerId.length} characters long are too long together for a CNI cache file name (at most ${MAX_KEY_BYTES - ifName.length} together)`,
    );
  }
}
