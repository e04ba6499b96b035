// The host's resolvers, for the names the server forwards: `nameserver` lines of /etc/resolv.conf, or, when that
// names systemd-resolved's stub (127.0.0.53), the real upstreams resolved lists in its own resolv.conf.
import { readFileSync } from "../../../ffi/fs.ts";
import { formatIP, parseIP } from "../../ip/codec.ts";
import type { DnsUpstream } from "../../schema/dns.ts";

export const RESOLV_CONF = "/etc/resolv.conf";
export const RESOLVED_UPSTREAMS = "/run/systemd/resolve/resolv.conf";
const RESOLVED_STUB = "127.0.0.53";

/** Canonical addresses of the `nameserver` lines, in order, without duplicates; a zone index (`%eth0`) is dropped. */
export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key !== "nameserver" || !value) continue;
    const ip = parseIP(value.split("%")[0]!);
    if (ip === null) continue;
    const address = formatIP(ip);
    if (!out.includes(address)) out.push(address);
  }
  return out;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * The host's upstreams (the stub itself when resolved's own list is missing: the server runs on the host and
 * can reach it), leaving out the server's own addresses (a query must not come back to it).
 * An empty list makes every forwarded query SERVFAIL at once.
 */
export function hostUpstreams(own: string[], resolvConf = RESOLV_CONF, resolvedConf = RESOLVED_UPSTREAMS): DnsUpstream[] {
  let servers = parseNameservers(readOrEmpty(resolvConf));
  if (servers.includes(RESOLVED_STUB)) {
    const real = parseNameservers(readOrEmpty(resolvedConf));
    if (real.length > 0) servers = real;
  }
  return servers.filter((s) => !own.includes(s)).map((address) => ({ address, port: 53 }));
}
