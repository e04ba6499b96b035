// The options of `--network slirp4netns:opt=v,opt=v`, checked the way podman's setupSlirp4netns /
// parseSlirp4netnsNetworkOptions check them, with their error wording. Pure: whether an interface
// exists is asked of the caller, because slirp4netns resolves outbound interface names in the
// namespace it runs in, which only the caller knows.
import { UsageError } from "../../errors.ts";
import { parseCidr, parseIPv4, parseIPv6 } from "../../ip/codec.ts";

export type PortHandler = "rootlesskit" | "slirp4netns";

export interface Slirp4netnsOptions {
  /** IPv4 network for the tap side, e.g. "10.0.2.0/24"; unset means slirp4netns's own 10.0.2.0/24. */
  cidr?: string;
  portHandler: PortHandler;
  allowHostLoopback: boolean;
  enableIPv6: boolean;
  /** IPv4 address or interface name outbound connections are bound to. */
  outboundAddr?: string;
  outboundAddr6?: string;
  /** Unset means ctrnet's default, 65520, the largest slirp4netns handles well. */
  mtu?: number;
}

export interface HostLookup {
  /** True when an interface of this name exists where slirp4netns will run. */
  interfaceExists(name: string): boolean;
}

/** The smallest MTU IPv4 allows (RFC 791), as podman checks it, and the largest slirp4netns accepts. */
const MIN_MTU = 68;
const MAX_MTU = 65521;
/** slirp4netns puts the guest at network + 100, so the network must have room for it. */
const MAX_PREFIX = 25;

export function defaultSlirp4netnsOptions(): Slirp4netnsOptions {
  return { portHandler: "rootlesskit", allowHostLoopback: false, enableIPv6: false };
}

/** Options as `key=value` strings, in order; a later key overrides an earlier one. */
export function parseSlirp4netnsOptions(list: readonly string[], host: HostLookup): Slirp4netnsOptions {
  const out = defaultSlirp4netnsOptions();
  for (const item of list) {
    const eq = item.indexOf("=");
    if (eq < 0) throw new UsageError(`unknown option for slirp4netns: ${q(item)}`);
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    switch (key) {
      case "cidr":
        out.cidr = checkCidr(value);
        break;
      case "port_handler":
        if (value !== "slirp4netns" && value !== "rootlesskit") {
          throw new UsageError(`unknown port_handler for slirp4netns: ${q(value)}`);
        }
        out.portHandler = value;
        break;
      case "allow_host_loopback":
        out.allowHostLoopback = bool(value, `invalid value of allow_host_loopback for slirp4netns: ${q(value)}`);
        break;
      case "enable_ipv6":
        out.enableIPv6 = bool(value, `invalid value of enable_ipv6 for slirp4netns: ${q(value)}`);
        break;
      case "outbound_addr":
        if (parseIPv4(value) === null && !host.interfaceExists(value)) {
          throw new UsageError(
            `invalid outbound_addr ${q(value)}: it is not a valid IPv4 address or the name of an existing interface`,
          );
        }
        out.outboundAddr = value;
        break;
      case "outbound_addr6":
        if (!isPlainIPv6(value) && !host.interfaceExists(value)) {
          throw new UsageError(
            `invalid outbound_addr6: ${q(value)}: it is not a valid IPv6 address or the name of an existing interface`,
          );
        }
        out.outboundAddr6 = value;
        break;
      case "mtu":
        out.mtu = checkMtu(value);
        break;
      default:
        throw new UsageError(`unknown option for slirp4netns: ${q(item)}`);
    }
  }
  if (out.outboundAddr6 !== undefined && !out.enableIPv6) {
    throw new UsageError("enable_ipv6=true is required for outbound_addr6");
  }
  return out;
}

/** Go's %q, which the seed's messages use; JSON string syntax is the same for what users type. */
function q(s: string): string {
  return JSON.stringify(s);
}

function bool(value: string, message: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new UsageError(message);
}

// slirp4netns refuses the last two itself, but only after it has started; saying so here keeps a bad
// option a usage error that leaves nothing behind.
function checkCidr(value: string): string {
  const cidr = parseCidr(value);
  if (cidr === null || cidr.address.length !== 4) throw new UsageError(`invalid cidr ${q(value)}`);
  if (cidr.prefixLength < 1 || cidr.prefixLength > MAX_PREFIX) {
    throw new UsageError(`invalid cidr ${q(value)}: the prefix length must be 1-${MAX_PREFIX}`);
  }
  const hostBits = 32 - cidr.prefixLength;
  const address = new DataView(cidr.address.buffer).getUint32(0);
  if (address % 2 ** hostBits !== 0) {
    throw new UsageError(`invalid cidr ${q(value)}: it must be a network address, with the host bits zero`);
  }
  return value;
}

function checkMtu(value: string): number {
  // strconv.Atoi syntax: an optional sign, then decimal digits
  const mtu = /^[+-]?[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!(mtu >= MIN_MTU && mtu <= MAX_MTU)) throw new UsageError(`invalid mtu ${q(value)}`);
  return mtu;
}

/** An IPv6 address that Go's net.ParseIP would not also read as IPv4 (::ffff:a.b.c.d is IPv4 to it). */
function isPlainIPv6(value: string): boolean {
  const bytes = parseIPv6(value);
  if (bytes === null) return false;
  const v4Mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return !v4Mapped;
}
