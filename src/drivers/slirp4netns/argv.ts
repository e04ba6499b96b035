// slirp4netns's command line, built in the order and with the defaults of podman's setupSlirp4netns.
// An option the user asked for that this slirp4netns lacks is refused, never silently dropped.
import { CtrnetError, UsageError } from "../../errors.ts";
import type { Slirp4netnsFeatures } from "./features.ts";
import type { Slirp4netnsOptions } from "./options.ts";

/** A netns file (bind mount or /proc/PID/ns/net), or a process whose netns to join. */
export type Slirp4netnsTarget = { netnsPath: string } | { pid: number };

export interface Slirp4netnsArgsInput {
  /** For messages only. */
  binary: string;
  features: Slirp4netnsFeatures;
  options: Slirp4netnsOptions;
  target: Slirp4netnsTarget;
  tapName: string;
  apiSocket?: string;
  /** Descriptor numbers as the child sees them. */
  exitFd?: number;
  readyFd: number;
  /** podman's !no_pivot_root: --enable-sandbox pivots root, which some roots (ramfs) cannot do. */
  sandbox: boolean;
}

export interface Slirp4netnsCommand {
  args: string[];
  /** --enable-sandbox is in args: the child must start in a mount namespace of its own (see start.ts). */
  sandboxed: boolean;
}

/** slirp4netns's default of 1500 costs throughput; podman raised it to this. */
export const DEFAULT_SLIRP4NETNS_MTU = 65520;

// Kernel interface names: at most 15 bytes, no "/", ":" or whitespace, not "." or "..".
const IFNAME = /^(?!\.\.?$)[^\s/:]{1,15}$/;

export function slirp4netnsArgs(input: Slirp4netnsArgsInput): Slirp4netnsCommand {
  const { features, options } = input;
  const refuse = (what: string, flag: string, hint = "") =>
    new CtrnetError(
      `${what} not supported by this version of slirp4netns (${input.binary} has no ${flag})${hint ? `; ${hint}` : ""}`,
    );
  if (!IFNAME.test(input.tapName)) throw new UsageError(`invalid tap interface name ${JSON.stringify(input.tapName)}`);

  const args: string[] = [];
  if (!options.allowHostLoopback) {
    // Leaving it out would quietly open the host's 127.0.0.1 to the container.
    if (!features.disableHostLoopback) {
      throw refuse("allow_host_loopback=false", "--disable-host-loopback", "upgrade slirp4netns or set allow_host_loopback=true");
    }
    args.push("--disable-host-loopback");
  }
  if (features.mtu) args.push(`--mtu=${options.mtu ?? DEFAULT_SLIRP4NETNS_MTU}`);
  else if (options.mtu !== undefined) throw refuse("mtu", "--mtu");
  const sandboxed = input.sandbox && features.enableSandbox;
  if (sandboxed) args.push("--enable-sandbox");
  if (features.enableSeccomp) args.push("--enable-seccomp");
  if (options.cidr !== undefined) {
    if (!features.cidr) throw refuse("cidr", "--cidr");
    args.push(`--cidr=${options.cidr}`);
  }
  if (options.enableIPv6) {
    if (!features.enableIPv6) throw refuse("enable_ipv6", "--enable-ipv6");
    args.push("--enable-ipv6");
  }
  if (options.outboundAddr !== undefined) {
    if (!features.outboundAddr) throw refuse("outbound_addr", "--outbound-addr");
    args.push(`--outbound-addr=${options.outboundAddr}`);
  }
  if (options.outboundAddr6 !== undefined) {
    if (!features.outboundAddr6 || !features.enableIPv6) throw refuse("outbound_addr6", "--outbound-addr6");
    args.push(`--outbound-addr6=${options.outboundAddr6}`);
  }
  if (input.apiSocket !== undefined) {
    if (!features.apiSocket) throw refuse("port_handler=slirp4netns", "--api-socket");
    args.push("--api-socket", input.apiSocket);
  }
  args.push("-c");
  if (input.exitFd !== undefined) args.push("-e", String(input.exitFd));
  args.push("-r", String(input.readyFd));
  if ("netnsPath" in input.target) {
    if (!features.netnsType) throw refuse("joining a network namespace by path", "--netns-type");
    args.push("--netns-type=path", input.target.netnsPath);
  } else {
    // a bare PID works with every slirp4netns, even those without --netns-type
    args.push(String(input.target.pid));
  }
  args.push(input.tapName);
  return { args, sandboxed };
}
