// A netlink socket (NETLINK_ROUTE unless told otherwise) and the one request/response loop every operation
// goes through; nf_tables batches and multicast listeners use its lower-level send and receive.
import { errnoNumber, isSysError } from "../../ffi/errno.ts";
import {
  AF_NETLINK,
  bind,
  close,
  MSG_DONTWAIT,
  MSG_TRUNC,
  NETLINK_ADD_MEMBERSHIP,
  NETLINK_CAP_ACK,
  NETLINK_EXT_ACK,
  NETLINK_GET_STRICT_CHK,
  NETLINK_ROUTE,
  recvfromSender,
  sendto,
  setsockopt,
  setsockoptInt,
  SOCK_RAW,
  SOL_NETLINK,
  SOL_SOCKET,
  SO_RCVBUFFORCE,
  SO_SNDBUFFORCE,
  SO_RCVTIMEO,
  socket,
} from "../../ffi/libc.ts";
import { socketInNetns } from "../../ffi/nsthread.ts";
import { openNetns } from "../netns/index.ts";
import { NetlinkError, NetlinkMalformedError } from "./errors.ts";
import { ReplyCollector } from "./replies.ts";
import {
  encodeMessage,
  HOST_LITTLE_ENDIAN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_REQUEST,
  viewOf,
  type Writer,
} from "./wire.ts";

export interface SocketOptions {
  /** Open the socket in this network namespace (an open fd, or a path such as /run/netns/NAME). */
  netns?: number | string;
  /** The netlink family: NETLINK_ROUTE by default, NETLINK_NETFILTER for nf_tables, NETLINK_SOCK_DIAG for sock-diag.ts. */
  protocol?: number;
  /** How long one receive may wait for the kernel. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
// Dump datagrams are at most 32 KiB; a single larger message (a link with many VFs) still fits twice over.
const RECEIVE_BUFFER_SIZE = 64 * 1024;
const SOCKADDR_NL_SIZE = 12;
// struct sockaddr_nl for the kernel: family AF_NETLINK, port id 0, no multicast groups.
const KERNEL = new Uint8Array(SOCKADDR_NL_SIZE);
viewOf(KERNEL).setUint16(0, AF_NETLINK, HOST_LITTLE_ENDIAN);

/** Made by a thread that enters the namespace and exits there: this thread never leaves its own. */
function socketIn(netns: number | string, protocol: number): number {
  const fd = typeof netns === "number" ? netns : openNetns(netns);
  try {
    return socketInNetns(fd, AF_NETLINK, SOCK_RAW, protocol);
  } finally {
    if (fd !== netns) close(fd);
  }
}

export class NetlinkSocket {
  private fd: number;
  private seq = 0;
  private readonly buffer = new Uint8Array(RECEIVE_BUFFER_SIZE);
  private readonly sender = new Uint8Array(SOCKADDR_NL_SIZE);
  private readonly senderLength = new Uint32Array(1);

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** The socket belongs to the namespace it was created in; only its creation needs to happen there. */
  static open(options: SocketOptions = {}): NetlinkSocket {
    const protocol = options.protocol ?? NETLINK_ROUTE;
    const fd = options.netns === undefined ? socket(AF_NETLINK, SOCK_RAW, protocol) : socketIn(options.netns, protocol);
    try {
      const ms = BigInt(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, new Uint8Array(new BigInt64Array([ms / 1000n, (ms % 1000n) * 1000n]).buffer));
      setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      // Lets the kernel filter dumps (addresses of one link, routes of one table) and reject malformed requests.
      setsockoptInt(fd, SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1);
    } catch (err) {
      close(fd);
      throw err;
    }
    return new NetlinkSocket(fd);
  }

  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    close(fd);
  }

  /** The next sequence number, for callers that frame several messages into one datagram. */
  nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** Sends a datagram the caller framed (an nf_tables batch); replies are read with receiveFromKernel. */
  send(operation: string, datagram: Uint8Array): void {
    if (this.fd < 0) throw new Error(`netlink: ${operation}: socket is closed`);
    sendto(this.fd, datagram, 0, KERNEL);
  }

  /**
   * The next datagram from the kernel (port id 0), a view valid until the next receive. With `wait` false it
   * returns null at once when none is queued; otherwise it waits up to the socket's timeout.
   */
  receiveFromKernel(operation: string, wait = true): Uint8Array | null {
    if (this.fd < 0) throw new Error(`netlink: ${operation}: socket is closed`);
    for (;;) {
      const length = this.receive(operation, wait ? 0 : MSG_DONTWAIT);
      if (length < 0) return null;
      if (viewOf(this.sender).getUint32(4, HOST_LITTLE_ENDIAN) === 0) return this.buffer.subarray(0, length);
    }
  }

  /**
   * Receives the multicast group's notifications (NETLINK_ADD_MEMBERSHIP). Binds first, so the kernel picks
   * the socket a port id: a broadcast skips sockets whose port id equals the excluded one, which is 0 for
   * changes made without NLM_F_ECHO, and an unbound socket that never sent anything still has port id 0.
   */
  joinGroup(group: number): void {
    bind(this.fd, KERNEL);
    setsockoptInt(this.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group);
  }

  /**
   * Larger socket buffers, for a batch bigger than the default send buffer, or whose acknowledgements (or a
   * group whose notifications) come in bursts: each queued reply costs far more than its bytes. Needs
   * CAP_NET_ADMIN; without it the defaults stay, and an overrun shows as EMSGSIZE or ENOBUFS.
   */
  growBuffers(sendBytes: number, receiveBytes: number): void {
    for (const [option, bytes] of [
      [SO_SNDBUFFORCE, sendBytes],
      [SO_RCVBUFFORCE, receiveBytes],
    ] as const) {
      try {
        setsockoptInt(this.fd, SOL_SOCKET, option, bytes);
      } catch (err) {
        if (!isSysError(err, "EPERM")) throw err;
      }
    }
  }

  /**
   * Sends one request and collects the replies to it, decoded with `decode`. A dump (flags include
   * NLM_F_DUMP) ends at NLMSG_DONE; anything else is sent with NLM_F_ACK and ends at the acknowledgement.
   * `operation` names the request in errors, e.g. `add link "veth0"`.
   */
  request<T>(operation: string, type: number, flags: number, body: (w: Writer) => void, decode: (payload: Uint8Array) => T): T[] {
    if (this.fd < 0) throw new Error(`netlink: ${operation}: socket is closed`);
    const dump = (flags & NLM_F_DUMP) === NLM_F_DUMP;
    const seq = this.nextSeq();
    const message = encodeMessage({ type, flags: flags | NLM_F_REQUEST | (dump ? 0 : NLM_F_ACK), seq, pid: 0 }, body);
    sendto(this.fd, message, 0, KERNEL);

    const collector = new ReplyCollector(operation, seq, decode);
    for (;;) {
      // Only the kernel (port id 0) answers requests; anything else is not ours to read.
      const datagram = this.receiveFromKernel(operation)!;
      if (collector.add(datagram)) return collector.replies;
    }
  }

  /** -1 when `flags` has MSG_DONTWAIT and nothing is queued. */
  private receive(operation: string, flags = 0): number {
    for (;;) {
      let length: number;
      try {
        length = recvfromSender(this.fd, this.buffer, MSG_TRUNC | flags, this.sender, this.senderLength);
      } catch (err) {
        if (isSysError(err, "EINTR")) continue;
        if (flags & MSG_DONTWAIT && isSysError(err, "EAGAIN")) return -1;
        // SO_RCVTIMEO expired.
        if (isSysError(err, "EAGAIN")) throw new NetlinkError(operation, errnoNumber("ETIMEDOUT"));
        throw err;
      }
      if (length > this.buffer.length) {
        throw new NetlinkMalformedError(`a ${length}-byte reply to ${operation} does not fit the ${this.buffer.length}-byte receive buffer`);
      }
      return length;
    }
  }
}
