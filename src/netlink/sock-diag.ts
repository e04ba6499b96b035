// NETLINK_SOCK_DIAG's inet_diag: the TCP, UDP and SCTP sockets of this network namespace, as `ss` lists
// them, with the inode that names each socket in /proc/PID/fd (who holds a port).
import { NetlinkSocket } from "./socket.ts";
import { formatIP } from "../ip/codec.ts";
import { NLM_F_DUMP, type Writer } from "./wire.ts";

const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const AF_INET = 2;
const AF_INET6 = 10;
const TCP_LISTEN = 10;
const TCP_CLOSE = 7;

export const IP_PROTOCOLS = { tcp: 6, udp: 17, sctp: 132 } as const;
export type IpProtocol = keyof typeof IP_PROTOCOLS;

export interface InetSocket {
  family: 4 | 6;
  protocol: IpProtocol;
  /** TCP_* state number: 10 listening; an unconnected UDP socket is 7 (close) */
  state: number;
  localAddress: string;
  localPort: number;
  uid: number;
  inode: number;
}

/** struct inet_diag_req_v2: family, protocol, ext, pad, states, then a zeroed inet_diag_sockid (48 bytes). */
export function inetDiagRequest(w: Writer, family: number, protocol: number, states: number): void {
  w.u8(family);
  w.u8(protocol);
  w.u8(0);
  w.u8(0);
  w.u32(states);
  w.bytes(new Uint8Array(48));
}

/** struct inet_diag_msg: family, state, timer, retrans, sockid (ports big-endian), expires, queues, uid, inode. */
export function decodeInetDiagMsg(payload: Uint8Array, protocol: IpProtocol): InetSocket {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const family = view.getUint8(0) === AF_INET6 ? 6 : 4;
  const address = payload.slice(8, family === 4 ? 12 : 24);
  return {
    family,
    protocol,
    state: view.getUint8(1),
    localAddress: formatIP(address),
    localPort: view.getUint16(4, false),
    uid: view.getUint32(64, true),
    inode: view.getUint32(68, true),
  };
}

/**
 * Listening TCP and SCTP sockets and bound UDP ones, both families. A protocol the kernel has no diag
 * module for (sctp_diag not loaded) has none to report.
 */
export function boundSockets(options: { netns?: number | string } = {}): InetSocket[] {
  const nl = NetlinkSocket.open({ ...options, protocol: NETLINK_SOCK_DIAG });
  try {
    const out: InetSocket[] = [];
    for (const protocol of Object.keys(IP_PROTOCOLS) as IpProtocol[]) {
      const states = protocol === "udp" ? 1 << TCP_CLOSE : 1 << TCP_LISTEN;
      for (const family of [AF_INET, AF_INET6]) {
        try {
          out.push(
            ...nl.request(`list ${protocol} sockets`, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, (w) => inetDiagRequest(w, family, IP_PROTOCOLS[protocol], states), (p) =>
              decodeInetDiagMsg(p, protocol),
            ),
          );
        } catch (err) {
          if (protocol !== "sctp") throw err;
        }
      }
    }
    return out;
  } finally {
    nl.close();
  }
}
