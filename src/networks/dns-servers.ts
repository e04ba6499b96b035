// podman's network-level DNS servers (`network create --dns`, `network update --dns-add/--dns-drop`):
// the upstream servers ctrnet's DNS server forwards to for the network's containers.
import { UsageError } from "../errors.ts";
import { formatIP, parseIP } from "../ip/codec.ts";

/** Each an IPv4 or IPv6 address, in canonical form; a server given twice is kept once. */
export function parseDnsServers(values: readonly string[], flag = "--dns"): string[] {
  const out: string[] = [];
  for (const value of values) {
    const ip = parseIP(value);
    if (ip === null) throw new UsageError(`invalid ${flag} "${value}": ${value} is not an ip address`);
    const text = formatIP(ip);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * podman's update: the servers dropped, then those added (each at most once); a server to drop that the
 * network does not have is an error, as podman's "dns server … is not present" (nothing is changed then).
 */
export function updateDnsServers(current: readonly string[], add: readonly string[], drop: readonly string[], network: string): string[] {
  const adding = parseDnsServers(add, "--dns-add");
  const dropping = parseDnsServers(drop, "--dns-drop");
  for (const server of dropping) {
    if (!current.includes(server)) throw new UsageError(`network ${network}: dns server ${server} is not present, so it cannot be dropped`);
  }
  const kept = current.filter((s) => !dropping.includes(s));
  return [...kept, ...adding.filter((s) => !kept.includes(s))];
}
