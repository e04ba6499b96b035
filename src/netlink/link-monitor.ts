// Link notifications (RTNLGRP_LINK), for a caller that waits for the kernel to remove a link it did not
// remove itself: the host end of a veth pair whose other end was in a network namespace that is going away.
// The kernel removes such a pair from a worker of its own (cleanup_net), apart from the command that
// dropped the namespace, which meanwhile goes on with its other work.
import { isSysError } from "../../ffi/errno.ts";
import { isNetlinkError } from "./errors.ts";
import { RTM_DELLINK } from "./msg-link.ts";
import type { Netlink } from "./netlink.ts";
import { NetlinkSocket, type SocketOptions } from "./socket.ts";
import { HOST_LITTLE_ENDIAN, splitMessages, viewOf } from "./wire.ts";

/** rtnetlink's multicast group of link changes. */
const RTNLGRP_LINK = 1;

/**
 * Waits up to `ms` for the link named `name` to be removed by someone else, watching the namespace `nl`
 * works in (the socket options say which: the same as nl's). True once it is gone (or was never there);
 * false when it is still there at the deadline, or when notifications were lost and it is still there.
 * Listening starts before the link is looked up, so a removal between the two is not missed.
 */
export function awaitLinkRemoved(nl: Netlink, name: string, ms: number, options: SocketOptions = {}): boolean {
  const socket = NetlinkSocket.open({ ...options, timeoutMs: ms });
  try {
    socket.joinGroup(RTNLGRP_LINK);
    let index: number;
    try {
      index = nl.linkSummary(name).index;
    } catch (err) {
      if (isNetlinkError(err, "ENODEV")) return true;
      throw err;
    }
    const end = performance.now() + ms;
    while (performance.now() < end) {
      let datagram: Uint8Array | null;
      try {
        datagram = socket.receiveFromKernel(`wait for link "${name}" to go`);
      } catch (err) {
        // notifications lost (the queue overran): look again rather than wait for one that may be gone
        if (isSysError(err, "ENOBUFS")) return gone(nl, name, index);
        // the deadline passed in the receive
        if (isNetlinkError(err, "ETIMEDOUT")) return false;
        throw err;
      }
      if (datagram === null) continue;
      for (const msg of splitMessages(datagram)) {
        // ifinfomsg: family (1), pad (1), type (2), then the index
        if (msg.type === RTM_DELLINK && msg.payload.length >= 8 && viewOf(msg.payload).getInt32(4, HOST_LITTLE_ENDIAN) === index) return true;
      }
    }
    return false;
  } finally {
    socket.close();
  }
}

/** Whether the link of this name and index is gone (a link made since with the same name is another one). */
function gone(nl: Netlink, name: string, index: number): boolean {
  try {
    return nl.linkSummary(name).index !== index;
  } catch (err) {
    if (isNetlinkError(err, "ENODEV")) return true;
    throw err;
  }
}
