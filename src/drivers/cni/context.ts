// The resolved settings every operation runs with, and the checks on what callers hand in.
import { UsageError } from "../../errors.ts";
import { validateName } from "../../names.ts";
import type { ExecOptions } from "./exec.ts";
import { validateIfName } from "./ifname.ts";

export interface CniContext {
  configDirs: readonly string[];
  cacheDir: string;
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

/** NAME_MAX: the longest file name Linux file systems take, in bytes (names here are ASCII). */
const MAX_FILE_NAME = 255;

/** Network name, container id and interface name become the cache file's name: checked every time. */
export function validateAttachmentKey(network: string, containerId: string, ifName: string): void {
  validateName("network name", network);
  validateName("container id", containerId);
  validateIfName("interface name", ifName);
  const length = network.length + containerId.length + ifName.length + 2;
  if (length > MAX_FILE_NAME) {
    throw new UsageError(
      `network name, container id and interface name make a CNI cache file name of ${length} characters (network ${network.slice(0, 16)}…): at most ${MAX_FILE_NAME}`,
    );
  }
}
