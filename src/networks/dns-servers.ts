// podman's network-level DNS servers (`network create --dns`, `network update --dns-add/--dns-drop`):
// the upstream servers ctrnet's DNS server forwards to for the network's containers.
import { UsageError } from "../errors.ts";
import { formatIP, parseIP } from "../ip/codec.ts";

/** Each an IPv4 or IPv6 address, in canonical form; a server given twice is kept once. */
export function parseDnsServers(values: readonly string[], flag = "--dns"): string[] {
  const out: string[] = [];
  for (const value of values) {
    const ip = parseIP(value);
    if (ip === null) throw new UsageError(`unable to parse ip ${JSON.stringify(value)} specified in ${flag}: invalid argument`);
    const text = formatIP(ip);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * podman's update (libnetwork's NetworkUpdate): the servers dropped, then those added, each at most once;
 * dropping one the network does not have changes nothing, as podman's (so a script can drop idempotently).
 */
export function updateDnsServers(current: readonly string[], add: readonly string[], drop: readonly string[]): string[] {
  const adding = parseDnsServers(add, "--dns-add");
  const dropping = parseDnsServers(drop, "--dns-drop");
  const kept = current.filter((s) => !dropping.includes(s));
  return [...kept, ...adding.filter((s) => !kept.includes(s))];
}
