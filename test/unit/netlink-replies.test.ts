// Golden bytes for NLMSG_ERROR with an extended ack, and the rules that decide which replies belong to a
// request and when it is complete. Little-endian.
import { describe, expect, test } from "bun:test";
import { NetlinkDumpInterruptedError, NetlinkError } from "../../src/netlink/errors.ts";
import { decodeErrorMessage, encodeErrorMessage } from "../../src/netlink/msg-error.ts";
import { ReplyCollector } from "../../src/netlink/replies.ts";
import {
  encodeMessage,
  NLM_F_DUMP_INTR,
  NLM_F_MULTI,
  NLMSG_DONE,
  NLMSG_ERROR,
  splitMessages,
  type Writer,
} from "../../src/netlink/wire.ts";

// The kernel refusing `ip route add 10.9.0.0/16 via 10.77.0.2` (captured from Linux 6.18), with
// NETLINK_EXT_ACK and NETLINK_CAP_ACK set on the socket.
const ERROR_WITH_EXT_ACK = Uint8Array.from([
  // nlmsghdr
  68, 0, 0, 0, //            nlmsg_len 68
  2, 0, //                   NLMSG_ERROR
  0x00, 0x03, //             NLM_F_CAPPED | NLM_F_ACK_TLVS
  7, 0, 0, 0, //             seq 7, the request's
  0x04, 0xd2, 0x06, 0x9a, // pid: the requesting socket's port id
  // struct nlmsgerr
  0x9b, 0xff, 0xff, 0xff, // error -101 (ENETUNREACH)
  //   the request's nlmsghdr, without its body (capped)
  52, 0, 0, 0, //            nlmsg_len 52
  24, 0, //                  RTM_NEWROUTE
  0x05, 0x06, //             NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
  7, 0, 0, 0, //             seq 7
  0, 0, 0, 0, //             pid 0
  // NLMSGERR_ATTR_MSG "Nexthop has invalid gateway\0"
  32, 0, 1, 0,
  0x4e, 0x65, 0x78, 0x74, 0x68, 0x6f, 0x70, 0x20, 0x68, 0x61, 0x73, 0x20, 0x69, 0x6e,
  0x76, 0x61, 0x6c, 0x69, 0x64, 0x20, 0x67, 0x61, 0x74, 0x65, 0x77, 0x61, 0x79, 0,
]);

describe("NLMSG_ERROR with an extended ack", () => {
  test("decodes field by field", () => {
    const [msg] = splitMessages(ERROR_WITH_EXT_ACK);
    expect(msg).toMatchObject({ type: NLMSG_ERROR, flags: 0x300, seq: 7, pid: 0x9a06d204 });
    expect(decodeErrorMessage(msg!.payload, msg!.flags)).toEqual({
      error: -101,
      request: { length: 52, type: 24, flags: 0x605, seq: 7, pid: 0 },
      extAck: [{ name: "message", value: "Nexthop has invalid gateway" }],
    });
  });

  test("re-encodes to the same bytes", () => {
    const [msg] = splitMessages(ERROR_WITH_EXT_ACK);
    const decoded = decodeErrorMessage(msg!.payload, msg!.flags);
    expect(encodeMessage(msg!, (w) => encodeErrorMessage(w, decoded))).toEqual(ERROR_WITH_EXT_ACK);
  });

  test("an uncapped error echoes the request before the attributes", () => {
    const request = { length: 20, type: 16, flags: 0x5, seq: 1, pid: 0 };
    const echoed = Uint8Array.from([1, 2, 3, 4]);
    const bytes = encodeMessage({ type: NLMSG_ERROR, flags: 0x200, seq: 1, pid: 9 }, (w) =>
      encodeErrorMessage(w, { error: -22, request, echoed, extAck: [{ name: "offset", value: 16 }] }),
    );
    const [msg] = splitMessages(bytes);
    expect(decodeErrorMessage(msg!.payload, msg!.flags)).toEqual({
      error: -22,
      request,
      echoed,
      extAck: [{ name: "offset", value: 16 }],
    });
  });

  test("becomes a NetlinkError naming the operation, the errno and the kernel's text", () => {
    const collector = new ReplyCollector("add route 10.9.0.0/16 via 10.77.0.2", 7, () => null);
    let caught: unknown;
    try {
      collector.add(ERROR_WITH_EXT_ACK);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NetlinkError);
    const err = caught as NetlinkError;
    expect(err.code).toBe("ENETUNREACH");
    expect(err.errno).toBe(101);
    expect(err.kernelMessage).toBe("Nexthop has invalid gateway");
    expect(err.message).toBe(
      "netlink: add route 10.9.0.0/16 via 10.77.0.2: network is unreachable (ENETUNREACH): Nexthop has invalid gateway",
    );
  });
});

describe("collecting replies", () => {
  const message = (type: number, flags: number, seq: number, body: (w: Writer) => void) =>
    encodeMessage({ type, flags, seq, pid: 1 }, body);
  const datagram = (...messages: Uint8Array[]) => Uint8Array.from(messages.flatMap((m) => [...m]));
  const reply = (seq: number, value: number, flags = NLM_F_MULTI) => message(16, flags, seq, (w) => w.u32(value));
  const done = (seq: number, flags = NLM_F_MULTI) => message(NLMSG_DONE, flags, seq, (w) => w.i32(0));
  const ack = (seq: number, error = 0) =>
    message(NLMSG_ERROR, 0x100, seq, (w) => {
      w.i32(error);
      w.bytes(new Uint8Array(16));
    });
  const readU32 = (payload: Uint8Array) => new DataView(payload.buffer, payload.byteOffset).getUint32(0, true);

  test("a dump runs over several datagrams until NLMSG_DONE; other sequence numbers are skipped", () => {
    const collector = new ReplyCollector("list links", 5, readU32);
    expect(collector.add(datagram(reply(4, 99), reply(5, 1), reply(5, 2)))).toBe(false);
    expect(collector.add(datagram(reply(5, 3), done(5)))).toBe(true);
    expect(collector.replies).toEqual([1, 2, 3]);
  });

  test("a request ends at its acknowledgement", () => {
    const collector = new ReplyCollector("get link 1", 6, readU32);
    expect(collector.add(datagram(reply(6, 42, 0), ack(6)))).toBe(true);
    expect(collector.replies).toEqual([42]);
  });

  test("an acknowledgement for an earlier request does not end this one", () => {
    const collector = new ReplyCollector("set link 1", 8, readU32);
    expect(collector.add(ack(7, -17))).toBe(false);
    expect(collector.add(ack(8))).toBe(true);
  });

  test("NLM_F_DUMP_INTR on any part makes the dump fail with a retryable error, after reading it to the end", () => {
    const collector = new ReplyCollector("list routes", 3, readU32);
    expect(collector.add(datagram(reply(3, 1, NLM_F_MULTI | NLM_F_DUMP_INTR)))).toBe(false);
    let caught: unknown;
    try {
      collector.add(done(3));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NetlinkDumpInterruptedError);
    expect(caught).toBeInstanceOf(NetlinkError);
    expect((caught as NetlinkDumpInterruptedError).retryable).toBe(true);
    expect((caught as Error).message).toBe("netlink: list routes: the kernel's table changed during the dump (retry)");
  });

  test("an error in NLMSG_DONE fails the dump", () => {
    const collector = new ReplyCollector("list addresses", 2, readU32);
    const failed = message(NLMSG_DONE, NLM_F_MULTI, 2, (w) => w.i32(-22));
    expect(() => collector.add(failed)).toThrow("netlink: list addresses: invalid argument (EINVAL)");
  });
});
