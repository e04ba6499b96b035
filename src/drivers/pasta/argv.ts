// pasta's command line as podman 5 builds it (containers/common libnetwork/pasta createPastaArgs):
// --config-net, the user's options, published ports as -t/-u, then "none" for every forwarding direction
// the user left alone, --no-map-gw unless --map-gw, --quiet unless debugging, --dns-forward 169.254.1.1
// and --map-guest-addr 169.254.1.2 unless given (the latter only where this pasta has it, where podman
// tries and retries without it), and --netns last. ctrnet adds --pid (it stops pasta by pid, not only by
// deleting the netns) unless the user gave one, which it then reads instead, and --runas 0 for root (pasta would drop to nobody, who cannot enter root's netns).
import { UsageError } from "../../errors.ts";
import type { PortMapping } from "../../schema/ports.ts";
import { hasOption, type PastaFeatures } from "./features.ts";
import { given, pastaOptionArgs, type PastaOptions, valuesOf } from "./options.ts";

/** podman's: a link-local address, unlikely to clash with anything the container reaches. */
export const DNS_FORWARD_IPV4 = "169.254.1.1";
export const MAP_GUEST_ADDR_IPV4 = "169.254.1.2";

export interface PastaArgsInput {
  features: PastaFeatures;
  options: PastaOptions;
  ports: readonly PortMapping[];
  netnsPath: string;
  pidFile: string;
  /** Running as uid 0 of the initial user namespace. */
  root: boolean;
}

export interface PastaCommand {
  args: string[];
  /** Where DNS queries go inside (the first is resolv.conf's nameserver). */
  dnsForward: string[];
  /** The addresses that reach the host (host.containers.internal); empty when this pasta cannot map one. */
  mapGuestAddr: string[];
  /** Where pasta writes its pid: the user's --pid FILE (kept) or ctrnet's own (removed once read). */
  pidFile: string;
  userPidFile: boolean;
}

/** podman's "can't forward protocol": pasta forwards tcp and udp only. */
export function checkPastaPorts(ports: readonly PortMapping[]): void {
  const other = ports.find((p) => p.protocol !== "tcp" && p.protocol !== "udp");
  if (other) throw new UsageError(`can't forward protocol: ${other.protocol}`);
}

/** `[HOSTIP/]H1-H2:C1-C2`, as podman writes a mapping; a host IP "" binds every address, v4 and v6. */
export function portSpec(p: PortMapping): string {
  const addr = p.hostIP === "" ? "" : `${p.hostIP}/`;
  return `${addr}${p.hostPort}-${p.hostPort + p.range - 1}:${p.containerPort}-${p.containerPort + p.range - 1}`;
}

export function pastaArgs(input: PastaArgsInput): PastaCommand {
  const { options, features } = input;
  checkPastaPorts(input.ports);
  const args = ["--config-net", ...pastaOptionArgs(options)];
  for (const p of input.ports) args.push(p.protocol === "tcp" ? "-t" : "-u", portSpec(p));
  const tcp = given(options, "tcp-ports") || input.ports.some((p) => p.protocol === "tcp");
  const udp = given(options, "udp-ports") || input.ports.some((p) => p.protocol === "udp");
  let dnsForward = valuesOf(options, "dns-forward");
  if (dnsForward.length === 0 && hasOption(features, "dns-forward")) {
    args.push("--dns-forward", DNS_FORWARD_IPV4);
    dnsForward = [DNS_FORWARD_IPV4];
  }
  if (!tcp) args.push("-t", "none");
  if (!udp) args.push("-u", "none");
  if (!given(options, "tcp-ns")) args.push("-T", "none");
  if (!given(options, "udp-ns")) args.push("-U", "none");
  if (!options.mapGw) args.push("--no-map-gw");
  if (!given(options, "debug", "trace", "quiet")) args.push("--quiet");
  if (input.root && !given(options, "runas")) args.push("--runas", "0");
  // a --pid of the user's is among the options already: pasta takes one only
  const userPid = valuesOf(options, "pid").at(-1);
  if (userPid === undefined) args.push("--pid", input.pidFile);
  args.push("--netns", input.netnsPath);
  let mapGuestAddr = valuesOf(options, "map-guest-addr");
  if (mapGuestAddr.length === 0 && hasOption(features, "map-guest-addr")) {
    args.push("--map-guest-addr", MAP_GUEST_ADDR_IPV4);
    mapGuestAddr = [MAP_GUEST_ADDR_IPV4];
  }
  return { args, dnsForward, mapGuestAddr, pidFile: userPid ?? input.pidFile, userPidFile: userPid !== undefined };
}
