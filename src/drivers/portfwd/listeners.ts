// Turns port mappings into the relay's listeners, and listen failures into the line a user reads.
import { readFileSync } from "../../../ffi/fs.ts";
import { errnoDescription, isSysError } from "../../../ffi/errno.ts";
import { formatEndpoint, type Relay, type RelayEndpoint, type RelayProtocol } from "../../../ffi/relay.ts";
import { CtrnetError, errorMessage } from "../../errors.ts";
import { ipFamily } from "../../ip/codec.ts";
import type { PortForwarderConfig } from "../../schema/portfwd.ts";

export interface Listener {
  protocol: RelayProtocol;
  host: RelayEndpoint;
  target: RelayEndpoint;
  /** The IPv6 half of a port given without a host address or as 0.0.0.0: left out where the host has no IPv6. */
  ifIPv6?: true;
}

/** Host addresses that mean every address: podman's rootlessport listens on both families for each of them. */
const WILDCARDS = new Set(["", "0.0.0.0", "::"]);

/**
 * One listener per port of every range. A wildcard ("", 0.0.0.0, ::) means every address of both families,
 * as podman's rootlessport listens (rootlesskit's builtin driver: Go's net.Listen("tcp", "0.0.0.0:P") is a
 * dual-stack socket): one listener on 0.0.0.0 and one on :: (IPV6_V6ONLY, so an IPv4 client is still seen as
 * one). An IPv6 host address leads to the container's IPv6 address when it has one (so an IPv6 client's
 * address can be kept), else to childIP.
 */
export function listenersOf(config: PortForwarderConfig): Listener[] {
  const out: Listener[] = [];
  for (const p of config.ports) {
    const hosts = WILDCARDS.has(p.hostIP) ? ["0.0.0.0", "::"] : [p.hostIP];
    for (const hostIP of hosts) {
      const childIP = ipFamily(hostIP) === 6 && config.childIP6 !== undefined ? config.childIP6 : config.childIP;
      for (let i = 0; i < p.range; i++) {
        out.push({
          protocol: p.protocol,
          host: { ip: hostIP, port: p.hostPort + i },
          target: { ip: childIP, port: p.containerPort + i },
          ...(hosts.length > 1 && hostIP === "::" && p.hostIP !== "::" ? { ifIPv6: true as const } : {}),
        });
      }
    }
  }
  return out;
}

function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
  } catch {
    return 1024;
  }
}

function listenError(l: Listener, err: unknown): CtrnetError {
  const start = unprivilegedPortStart();
  if (isSysError(err, "EACCES") && l.host.port < start) {
    return new CtrnetError(
      `cannot expose privileged port ${l.host.port}, you can add 'net.ipv4.ip_unprivileged_port_start=${l.host.port}' ` +
        `to /etc/sysctl.conf (currently ${start}), or choose a larger port number (>= ${start})`,
    );
  }
  const why = isSysError(err) ? errnoDescription(err.errno) : errorMessage(err);
  return new CtrnetError(`failed to listen on ${formatEndpoint(l.host)}/${l.protocol}: ${why}`, { cause: err });
}

/** marks: each listener's mark for its sockets to the target, in order (return-path.ts); none when the address is not kept. */
export function bindListeners(relay: Relay, listeners: Listener[], marks?: readonly number[]): void {
  for (const [i, l] of listeners.entries()) {
    try {
      relay.listen(l.protocol, l.host, l.target, marks?.[i] ?? 0);
    } catch (err) {
      // a host without IPv6 (disabled, or no such family) has only the IPv4 half of a wildcard port
      if (l.ifIPv6 && isSysError(err, "EAFNOSUPPORT", "EADDRNOTAVAIL")) continue;
      throw listenError(l, err);
    }
  }
}
