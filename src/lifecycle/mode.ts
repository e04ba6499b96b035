// `--network` as podman reads it: which kind of network a container gets, and which CNI networks.
import { hostLookup } from "../drivers/slirp4netns/host-lookup.ts";
import { parseSlirp4netnsOptions } from "../drivers/slirp4netns/options.ts";
import { UsageError } from "../errors.ts";
import { validateName } from "../names.ts";
import type { NetMode } from "../state/index.ts";

export interface NetworkModeSpec {
  mode: NetMode;
  /** CNI networks to attach, in order; empty when the mode attaches none. */
  networks: string[];
  /** `bridge`: the default network is meant; its name is known only once it exists. */
  defaultNetwork: boolean;
  /**
   * ctrnet configures the container's netns (loopback up, the driver's networks): bridge, none and
   * slirp4netns, pasta. host, ns:PATH and container:ID use a netns as it is.
   */
  configures: boolean;
  /** ns:PATH: the netns the container joins. */
  joins?: string;
}

export type RootlessNetworkCmd = "slirp4netns" | "pasta";

/**
 * podman's default_rootless_network_cmd, from CTRNET_ROOTLESS_NETWORK_CMD: what a rootless user's
 * container gets when no --network is given, and what connects the rootless netns to the outside.
 * slirp4netns unless set (README, "Rootless", says why).
 */
export function rootlessNetworkCmd(env: Readonly<Record<string, string | undefined>> = process.env): RootlessNetworkCmd {
  const value = env.CTRNET_ROOTLESS_NETWORK_CMD;
  if (value === undefined || value === "" || value === "slirp4netns") return "slirp4netns";
  if (value === "pasta") return "pasta";
  throw new UsageError(`invalid CTRNET_ROOTLESS_NETWORK_CMD ${JSON.stringify(value)}: expected slirp4netns or pasta`);
}

/**
 * podman's containers.conf `pasta_options`, from CTRNET_PASTA_OPTIONS (comma-separated): options every
 * pasta container gets before its own `pasta:` ones, so those given on the command line come later and
 * win where pasta takes the last (`--ns-mac-addr`), as podman's createPastaArgs orders them.
 */
export function configuredPastaOptions(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  return env.CTRNET_PASTA_OPTIONS?.split(",").filter(Boolean) ?? [];
}

/**
 * value undefined (or podman's `default`, `private`) means the default: slirp4netns for a rootless user (pasta with CTRNET_ROOTLESS_NETWORK_CMD=pasta) (a user cannot make bridges on the
 * host), bridge for root, as podman. slirp4netns options are checked here, with the seed's messages, so a
 * bad one is refused before anything is made.
 */
export function parseNetworkMode(value?: string, rootless = false): NetworkModeSpec {
  // podman's `default` and `private` (a netns of its own): the mode a container gets when none is given
  if (value === undefined || value === "default" || value === "private") return parseNetworkMode(rootless ? rootlessNetworkCmd() : "bridge");
  if (value === "" || value === "bridge") return { mode: { kind: "bridge" }, networks: [], defaultNetwork: true, configures: true };
  if (value === "none") return { mode: { kind: "none" }, networks: [], defaultNetwork: false, configures: true };
  if (value === "host") return { mode: { kind: "host" }, networks: [], defaultNetwork: false, configures: false };
  if (value.startsWith("ns:")) {
    const path = value.slice(3);
    if (!path.startsWith("/")) throw new UsageError(`invalid --network "${value}": ns: takes an absolute path, e.g. ns:/run/netns/NAME`);
    return { mode: { kind: "ns", path }, networks: [], defaultNetwork: false, configures: false, joins: path };
  }
  if (value.startsWith("container:")) {
    const id = value.slice("container:".length);
    if (id === "") throw new UsageError(`invalid --network "${value}": container: takes a container id or name`);
    return { mode: { kind: "container", id: validateName("container id or name", id) }, networks: [], defaultNetwork: false, configures: false };
  }
  if (value === "slirp4netns" || value.startsWith("slirp4netns:")) {
    const options = value === "slirp4netns" ? [] : value.slice("slirp4netns:".length).split(",");
    parseSlirp4netnsOptions(options, hostLookup);
    return { mode: { kind: "slirp4netns", options }, networks: [], defaultNetwork: false, configures: true };
  }
  if (value === "pasta" || value.startsWith("pasta:")) {
    // podman's strings.Split: `pasta:` alone is one empty option, which pasta's check refuses
    const given = value === "pasta" ? [] : value.slice("pasta:".length).split(",");
    // kept in the record with the container's own: a restart or rm later runs with what create ran
    const options = [...configuredPastaOptions(), ...given];
    return { mode: { kind: "pasta", options }, networks: [], defaultNetwork: false, configures: true };
  }
  const networks = value.split(",");
  const seen = new Set<string>();
  for (const name of networks) {
    if (name === "") throw new UsageError(`invalid --network "${value}": empty network name`);
    if (["bridge", "none", "host", "default", "private"].includes(name)) {
      throw new UsageError(`invalid --network "${value}": "${name}" cannot be combined with other networks`);
    }
    validateName("network name", name);
    if (seen.has(name)) throw new UsageError(`invalid --network "${value}": network "${name}" is given twice`);
    seen.add(name);
  }
  return { mode: { kind: "bridge" }, networks, defaultNetwork: false, configures: true };
}

/** The mode as podman's inspect shows it (NetworkMode). */
export function formatNetworkMode(mode: NetMode): string {
  switch (mode.kind) {
    case "ns":
      return `ns:${mode.path}`;
    case "container":
      return `container:${mode.id}`;
    case "slirp4netns":
    case "pasta":
      return mode.options.length ? `${mode.kind}:${mode.options.join(",")}` : mode.kind;
    default:
      return mode.kind;
  }
}
