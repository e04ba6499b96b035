import { quote, UsageError } from "./errors.ts";

/** Container ids, network names and netns names become file names: only this shape is allowed. */
export const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const MAX_NAME = 253;

/**
 * Container ids go into file names that hold more than the id, the longest being the CNI cache's
 * temporary file `.NETWORK-ID-IFNAME.RANDOM.tmp` (20 bytes besides the three names) within a file name's
 * 255 bytes: 128 leaves a network name 92 next to a 15-byte interface name. Names get the same limit, so
 * either can be used where the other is.
 */
export const MAX_CONTAINER_NAME = 128;

/** "container id", "container name", but not "container id or name": a lookup only reads. */
const CONTAINER_KINDS = new Set(["container id", "container name"]);

export function validateName(kind: string, name: string): string {
  if (name === "") throw new UsageError(`${kind} must not be empty`);
  const max = CONTAINER_KINDS.has(kind) ? MAX_CONTAINER_NAME : MAX_NAME;
  if (name.length > max) {
    throw new UsageError(`${kind} ${quote(`${name.slice(0, 32)}…`)} is ${name.length} characters long, more than the limit of ${max}`);
  }
  if (!NAME_PATTERN.test(name)) {
    // podman 5's (netavark create's) words for a network name; ctrnet's own for the other kinds
    const what = kind === "network name" ? `Invalid characters in network name ${quote(name)}` : `invalid ${kind} ${quote(name)}`;
    throw new UsageError(`${what}: must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  }
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
