// Addresses in the typed API: what an address looks like to callers, and the RTM_*ADDR messages.
import { AF_INET, AF_INET6 } from "../../ffi/libc.ts";
import { UsageError } from "../errors.ts";
import { formatIP, parseCidr, parseIP, type Cidr } from "../ip/codec.ts";
import { attrValue } from "./attrs.ts";
import { IFA_F_NODAD, type AddressAttr, type AddressMessage } from "./msg-address.ts";

export type Family = 4 | 6;

export interface Address {
  family: Family;
  /** Index of the link the address is on. */
  index: number;
  address: string;
  prefixLength: number;
  broadcast?: string;
  label?: string;
  /** RT_SCOPE_*: 0 global, 253 link, 254 host. */
  scope: number;
  /** IFA_F_* */
  flags: number;
}

export interface AddressOptions {
  broadcast?: string;
  /** Skip IPv6 duplicate address detection, so the address is usable at once. */
  noDad?: boolean;
}

export function familyNumber(family: Family): number {
  return family === 4 ? AF_INET : AF_INET6;
}

export function familyOf(bytes: Uint8Array): Family {
  return bytes.length === 4 ? 4 : 6;
}

export function parseCidrArg(text: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr === null) throw new UsageError(`invalid address "${text}": expected an IP address and prefix length, such as 10.88.0.2/16`);
  return cidr;
}

export function parseIPArg(text: string): Uint8Array {
  const ip = parseIP(text);
  if (ip === null) throw new UsageError(`invalid IP address "${text}"`);
  return ip;
}

/** null for families other than IPv4 and IPv6. */
export function toAddress(msg: AddressMessage): Address | null {
  const { header, attrs } = msg;
  if (header.family !== AF_INET && header.family !== AF_INET6) return null;
  // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links (and the only one for IPv6).
  const address = attrValue(attrs, "local") ?? attrValue(attrs, "address");
  if (address === undefined) return null;
  return {
    family: header.family === AF_INET ? 4 : 6,
    index: header.index,
    address,
    prefixLength: header.prefixLength,
    broadcast: attrValue(attrs, "broadcast"),
    label: attrValue(attrs, "label"),
    scope: header.scope,
    flags: attrValue(attrs, "flags") ?? header.flags,
  };
}

/**
 * The broadcast address of an IPv4 address's subnet (host bits all set), as `ip addr add … brd +` and the
 * Go netlink library under the CNI plugins and netavark give every IPv4 address of /30 or shorter; none
 * for IPv6, /31 and /32.
 */
export function defaultBroadcast(cidr: Cidr): string | undefined {
  if (cidr.address.length !== 4 || cidr.prefixLength > 30) return undefined;
  const bytes = Uint8Array.from(cidr.address);
  for (let bit = cidr.prefixLength; bit < 32; bit++) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return formatIP(bytes);
}

export function addressMessage(index: number, cidr: Cidr, options: AddressOptions = {}): AddressMessage {
  const family = familyOf(cidr.address);
  const address = formatIP(cidr.address);
  const attrs: AddressAttr[] = [
    { name: "local", value: address },
    { name: "address", value: address },
  ];
  if (options.broadcast !== undefined) {
    const broadcast = parseIPArg(options.broadcast);
    if (familyOf(broadcast) !== family) throw new UsageError(`broadcast ${options.broadcast} is not in the family of ${address}`);
    attrs.push({ name: "broadcast", value: formatIP(broadcast) });
  }
  const flags = options.noDad ? IFA_F_NODAD : 0;
  return { header: { family: familyNumber(family), prefixLength: cidr.prefixLength, flags, scope: 0, index }, attrs };
}
