import { UsageError } from "./errors.ts";

/** Container ids, network names and netns names become file names: only this shape is allowed. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME = 253;

export function validateName(kind: string, name: string): string {
  if (name === "") throw new UsageError(`${kind} must not be empty`);
  if (name.length > MAX_NAME) throw new UsageError(`${kind} "${name.slice(0, 32)}…" is longer than ${MAX_NAME} characters`);
  if (!NAME_PATTERN.test(name)) throw new UsageError(`invalid ${kind} "${name}": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  return name;
}

/**
 * Network names become a conflist's file name (`.NAME.conflist.PID.tmp` while written), host-local's
 * directory and, with a container id and an interface name, the CNI result cache's file name
 * `NAME-ID-IFNAME`, all within NAME_MAX (255 bytes). 128 leaves room for podman's 64-hex container ids and
 * names longer than that; its test suites' names (a word and a 64-hex id) fit.
 */
export const MAX_NETWORK_NAME = 128;

export function validateNetworkName(name: string, kind = "network name"): string {
  validateName(kind, name);
  if (name.length > MAX_NETWORK_NAME) throw new UsageError(`${kind} "${name.slice(0, 32)}…" is longer than ${MAX_NETWORK_NAME} characters`);
  return name;
}
