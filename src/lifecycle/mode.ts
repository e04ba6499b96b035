// `--network` as podman reads it: which kind of network a container gets, and which CNI networks.
import { UsageError } from "../errors.ts";
import { validateName } from "../names.ts";
import type { NetMode } from "../state/index.ts";

export interface NetworkModeSpec {
  mode: NetMode;
  /** CNI networks to attach, in order; empty when the mode attaches none. */
  networks: string[];
  /** `bridge`: the default network is meant; its name is known only once it exists. */
  defaultNetwork: boolean;
}

export function parseNetworkMode(value = "bridge"): NetworkModeSpec {
  if (value === "" || value === "bridge") return { mode: { kind: "bridge" }, networks: [], defaultNetwork: true };
  if (value === "none") return { mode: { kind: "none" }, networks: [], defaultNetwork: false };
  if (value === "host") return { mode: { kind: "host" }, networks: [], defaultNetwork: false };
  if (value.startsWith("ns:")) {
    const path = value.slice(3);
    if (!path.startsWith("/")) throw new UsageError(`invalid --network "${value}": ns: takes an absolute path, e.g. ns:/run/netns/NAME`);
    return { mode: { kind: "ns", path }, networks: [], defaultNetwork: false };
  }
  if (value.startsWith("container:")) {
    const id = value.slice("container:".length);
    if (id === "") throw new UsageError(`invalid --network "${value}": container: takes a container id or name`);
    return { mode: { kind: "container", id: validateName("container id or name", id) }, networks: [], defaultNetwork: false };
  }
  if (value === "slirp4netns" || value.startsWith("slirp4netns:")) {
    throw new UsageError(`--network ${value} is for rootless containers; as root use bridge or a network name`);
  }
  const networks = value.split(",");
  const seen = new Set<string>();
  for (const name of networks) {
    if (name === "") throw new UsageError(`invalid --network "${value}": empty network name`);
    if (["bridge", "none", "host"].includes(name)) {
      throw new UsageError(`invalid --network "${value}": "${name}" cannot be combined with other networks`);
    }
    validateName("network name", name);
    if (seen.has(name)) throw new UsageError(`invalid --network "${value}": network "${name}" is given twice`);
    seen.add(name);
  }
  return { mode: { kind: "bridge" }, networks, defaultNetwork: false };
}

/** The mode as podman's inspect shows it (NetworkMode). */
export function formatNetworkMode(mode: NetMode): string {
  switch (mode.kind) {
    case "ns":
      return `ns:${mode.path}`;
    case "container":
      return `container:${mode.id}`;
    case "slirp4netns":
      return mode.options.length ? `slirp4netns:${mode.options.join(",")}` : "slirp4netns";
    default:
      return mode.kind;
  }
}
