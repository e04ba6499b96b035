// Golden bytes for the NFNL batch framing and for the nf_tables object messages, and the rules for reading a
// batch's acknowledgements, on hand-written datagrams. Little-endian host; nf_tables' integers are big-endian.
import { describe, expect, test } from "bun:test";
import { BatchAcks, NftBatchError } from "../../src/netlink/nftables/acks.ts";
import { chainMessage } from "../../src/netlink/nftables/msg-chain.ts";
import { ruleMessage } from "../../src/netlink/nftables/msg-rule.ts";
import { elemListMessage, setMessage } from "../../src/netlink/nftables/msg-set.ts";
import { tableMessage } from "../../src/netlink/nftables/msg-table.ts";
import { frameBatch, NFT_MSG, NLM_F_APPEND } from "../../src/netlink/nftables/nfnl.ts";
import { chainMessageOf, ruleMessageOf, tableMessageOf, toChain, toRule } from "../../src/netlink/nftables/objects.ts";
import { elementsMessageOf, setMessageOf, toElements, toSet } from "../../src/netlink/nftables/sets.ts";
import { concat, concatType, inetProto, inetService, ipv4, TYPES } from "../../src/netlink/nftables/values.ts";
import { encodeMessage, NLM_F_CREATE, splitMessages, Writer } from "../../src/netlink/wire.ts";

const N = 0x80; // high byte of NLA_F_NESTED

function text(s: string): number[] {
  return [...Buffer.from(`${s}\0`)];
}

function counter(start: number): () => number {
  let n = start;
  return () => n++;
}

const BATCH = Uint8Array.from([
  // NFNL_MSG_BATCH_BEGIN
  28, 0, 0, 0, //              nlmsg_len 28
  0x10, 0, //                  NFNL_MSG_BATCH_BEGIN (NLMSG_MIN_TYPE)
  0x01, 0, //                  NLM_F_REQUEST
  1, 0, 0, 0, //               seq 1
  0, 0, 0, 0, //               pid 0
  0, 0, 0, 10, //              nfgenmsg: AF_UNSPEC, NFNETLINK_V0, res_id NFNL_SUBSYS_NFTABLES (be16)
  8, 0, 1, 0, 0, 0, 0, 7, //   NFNL_BATCH_GENID 7
  // NFT_MSG_NEWTABLE inet ctrnet
  32, 0, 0, 0, //              nlmsg_len 32
  0x00, 0x0a, //               NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWTABLE
  0x05, 0x04, //               NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
  2, 0, 0, 0, //               seq 2
  0, 0, 0, 0, //               pid 0
  1, 0, 0, 0, //               nfgenmsg: NFPROTO_INET, NFNETLINK_V0, res_id 0
  11, 0, 1, 0, ...text("ctrnet"), 0, // NFTA_TABLE_NAME "ctrnet", 1 byte of padding
  // NFT_MSG_NEWCHAIN inet ctrnet postrouting: type nat hook postrouting priority 100; policy accept
  84, 0, 0, 0, //              nlmsg_len 84
  0x03, 0x0a, //               NFT_MSG_NEWCHAIN
  0x05, 0x04, //               NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE
  3, 0, 0, 0, //               seq 3
  0, 0, 0, 0,
  1, 0, 0, 0, //               nfgenmsg: NFPROTO_INET
  11, 0, 1, 0, ...text("ctrnet"), 0, //         NFTA_CHAIN_TABLE "ctrnet"
  16, 0, 3, 0, ...text("postrouting"), //       NFTA_CHAIN_NAME "postrouting"
  8, 0, 7, 0, ...text("nat"), //                NFTA_CHAIN_TYPE "nat"
  8, 0, 5, 0, 0, 0, 0, 1, //                    NFTA_CHAIN_POLICY NF_ACCEPT
  20, 0, 4, N, //                               NFTA_CHAIN_HOOK, nested
  8, 0, 1, 0, 0, 0, 0, 4, //                      NFTA_HOOK_HOOKNUM NF_INET_POST_ROUTING
  8, 0, 2, 0, 0, 0, 0, 100, //                    NFTA_HOOK_PRIORITY 100
  // NFNL_MSG_BATCH_END
  20, 0, 0, 0,
  0x11, 0, //                  NFNL_MSG_BATCH_END
  0x01, 0,
  4, 0, 0, 0, //               seq 4
  0, 0, 0, 0,
  0, 0, 0, 10, //              nfgenmsg: res_id NFNL_SUBSYS_NFTABLES
]);

describe("NFNL batch framing", () => {
  const table = tableMessageOf({ family: "inet", name: "ctrnet" });
  const chain = chainMessageOf({
    family: "inet",
    table: "ctrnet",
    name: "postrouting",
    base: { type: "nat", hook: "postrouting", priority: 100, policy: "accept" },
  });

  test("begin (with the generation), one message per change, end", () => {
    const batch = frameBatch(
      [
        { msg: NFT_MSG.NEWTABLE, flags: NLM_F_CREATE, operation: "add table", body: (w) => tableMessage.encode(w, table) },
        { msg: NFT_MSG.NEWCHAIN, flags: NLM_F_CREATE, operation: "add chain", body: (w) => chainMessage.encode(w, chain) },
      ],
      counter(1),
      7,
    );
    expect(batch.datagram).toEqual(BATCH);
    expect(batch.messages.map((m) => [m.seq, m.acked])).toEqual([[1, false], [2, true], [3, true], [4, false]]);
  });

  test("decodes and re-encodes to the same bytes", () => {
    const [begin, t, c, end] = splitMessages(BATCH);
    expect(begin).toMatchObject({ type: 0x10, seq: 1 });
    expect(end).toMatchObject({ type: 0x11, seq: 4 });
    expect(tableMessage.decode(t!.payload, [])).toEqual(table);
    const decoded = chainMessage.decode(c!.payload, []);
    expect(toChain(decoded)).toEqual({
      family: "inet",
      table: "ctrnet",
      name: "postrouting",
      handle: 0n,
      use: 0,
      base: { type: "nat", hook: "postrouting", priority: 100, policy: "accept" },
    });
    expect(encodeMessage(t!, (w) => tableMessage.encode(w, tableMessage.decode(t!.payload, [])))).toEqual(BATCH.subarray(28, 60));
    expect(encodeMessage(c!, (w) => chainMessage.encode(w, decoded))).toEqual(BATCH.subarray(60, 144));
  });

  test("a negative priority is a two's complement be32", () => {
    const m = chainMessageOf({ family: "ip", table: "t", name: "c", base: { type: "filter", hook: "prerouting", priority: -150 } });
    const w = new Writer();
    chainMessage.encode(w, m);
    const bytes = w.finish();
    expect([...bytes.subarray(-8)]).toEqual([8, 0, 2, 0, 0xff, 0xff, 0xff, 0x6a]);
    expect(toChain(chainMessage.decode(bytes, [])).base?.priority).toBe(-150);
  });
});

describe("object messages", () => {
  test("NFT_MSG_NEWRULE with expressions, a position and a comment", () => {
    const golden = Uint8Array.from([
      1, 0, 0, 0, //                                nfgenmsg: NFPROTO_INET
      11, 0, 1, 0, ...text("ctrnet"), 0, //         NFTA_RULE_TABLE "ctrnet"
      12, 0, 2, 0, ...text("forward"), //           NFTA_RULE_CHAIN "forward"
      12, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 5, //       NFTA_RULE_POSITION 5 (be64)
      60, 0, 4, N, //                               NFTA_RULE_EXPRESSIONS, nested
      36, 0, 1, N, //                                 NFTA_LIST_ELEM, nested
      9, 0, 1, 0, ...text("meta"), 0, 0, 0, //          NFTA_EXPR_NAME "meta"
      20, 0, 2, N, //                                   NFTA_EXPR_DATA
      8, 0, 2, 0, 0, 0, 0, 6, //                          NFTA_META_KEY NFT_META_IIFNAME
      8, 0, 1, 0, 0, 0, 0, 1, //                          NFTA_META_DREG 1
      20, 0, 1, N, //                                 NFTA_LIST_ELEM, nested
      12, 0, 1, 0, ...text("counter"), //               NFTA_EXPR_NAME "counter"
      4, 0, 2, N, //                                    NFTA_EXPR_DATA, empty
      13, 0, 7, 0, //                               NFTA_RULE_USERDATA, 9 bytes
      0, 7, ...text("ctrnet"), //                     NFTNL_UDATA_RULE_COMMENT, length 7, "ctrnet\0"
      0, 0, 0, //                                   padding
    ]);
    const spec = {
      family: "inet" as const,
      table: "ctrnet",
      chain: "forward",
      exprs: [{ type: "meta" as const, key: "iifname" as const, dreg: 1 }, { type: "counter" as const }],
      comment: "ctrnet",
    };
    const w = new Writer();
    ruleMessage.encode(w, ruleMessageOf(spec, 5n));
    expect(w.finish()).toEqual(golden);
    const decoded = ruleMessage.decode(golden, []);
    // A rule read back has a handle; here the position stands in for the handle the kernel would add.
    expect(toRule({ ...decoded, attrs: [...decoded.attrs, { name: "handle", value: 9n }] })).toEqual({ ...spec, handle: 9n });
    const again = new Writer();
    ruleMessage.encode(again, decoded);
    expect(again.finish()).toEqual(golden);
  });

  test("NFT_MSG_NEWSET: a map from ipv4_addr . inet_proto . inet_service to ipv4_addr . inet_service", () => {
    const golden = Uint8Array.from([
      1, 0, 0, 0, //                                nfgenmsg: NFPROTO_INET
      11, 0, 1, 0, ...text("ctrnet"), 0, //         NFTA_SET_TABLE "ctrnet"
      9, 0, 2, 0, ...text("dnat"), 0, 0, 0, //      NFTA_SET_NAME "dnat"
      8, 0, 3, 0, 0, 0, 0, 0x08, //                 NFTA_SET_FLAGS NFT_SET_MAP
      8, 0, 4, 0, 0, 0, 0x73, 0x0d, //              NFTA_SET_KEY_TYPE (7 << 12 | 12 << 6 | 13), nft's concatenation
      8, 0, 5, 0, 0, 0, 0, 12, //                   NFTA_SET_KEY_LEN 12: three members of 4 bytes
      8, 0, 6, 0, 0, 0, 0x01, 0xcd, //              NFTA_SET_DATA_TYPE (7 << 6 | 13)
      8, 0, 7, 0, 0, 0, 0, 8, //                    NFTA_SET_DATA_LEN 8
      8, 0, 10, 0, 0, 0, 0, 1, //                   NFTA_SET_ID 1
    ]);
    const spec = {
      family: "inet" as const,
      table: "ctrnet",
      name: "dnat",
      key: concatType(TYPES.ipv4_addr, TYPES.inet_proto, TYPES.inet_service),
      data: concatType(TYPES.ipv4_addr, TYPES.inet_service),
    };
    const w = new Writer();
    setMessage.encode(w, setMessageOf(spec, 1));
    expect(w.finish()).toEqual(golden);
    expect(toSet(setMessage.decode(golden, []))).toEqual({
      family: "inet",
      table: "ctrnet",
      name: "dnat",
      handle: 0n,
      flags: ["map"],
      keyType: 0x730d,
      keyLen: 12,
      dataType: 0x1cd,
      dataLen: 8,
    });
  });

  test("NFT_MSG_NEWSET: a set of marks tells nft, in its userdata, that they are in host order", () => {
    const golden = Uint8Array.from([
      2, 0, 0, 0, //                                nfgenmsg: NFPROTO_IPV4
      6, 0, 1, 0, ...text("t"), 0, 0, //            NFTA_SET_TABLE "t"
      10, 0, 2, 0, ...text("marks"), 0, 0, //       NFTA_SET_NAME "marks"
      8, 0, 3, 0, 0, 0, 0, 0x02, //                 NFTA_SET_FLAGS NFT_SET_CONSTANT
      8, 0, 4, 0, 0, 0, 0, 19, //                   NFTA_SET_KEY_TYPE mark
      8, 0, 5, 0, 0, 0, 0, 4, //                    NFTA_SET_KEY_LEN 4
      8, 0, 10, 0, 0, 0, 0, 4, //                   NFTA_SET_ID 4
      10, 0, 13, 0, //                              NFTA_SET_USERDATA, 6 bytes:
      0, 4, 1, 0, 0, 0, //                            NFTNL_UDATA_SET_KEYBYTEORDER BYTEORDER_HOST_ENDIAN (host u32)
      0, 0, //                                      padding
    ]);
    const w = new Writer();
    setMessage.encode(w, setMessageOf({ family: "ip", table: "t", name: "marks", key: TYPES.mark, flags: ["constant"] }, 4));
    expect(w.finish()).toEqual(golden);
    expect(toSet(setMessage.decode(golden, []))).toMatchObject({ name: "marks", flags: ["constant"], keyType: 19, keyLen: 4 });
  });

  test("NFT_MSG_NEWSET: an interval set with concatenated keys describes its fields", () => {
    const spec = { family: "ip" as const, table: "t", name: "s", key: concatType(TYPES.ipv4_addr, TYPES.inet_service), flags: ["interval" as const] };
    const w = new Writer();
    setMessage.encode(w, setMessageOf(spec, 2));
    const set = toSet(setMessage.decode(w.finish(), []));
    expect(set.flags).toEqual(["interval", "concat"]);
    expect(set.fields).toEqual([4, 2]);
  });

  test("NFT_MSG_NEWSETELEM: a map element, and an interval end", () => {
    const golden = Uint8Array.from([
      1, 0, 0, 0, //                                nfgenmsg: NFPROTO_INET
      11, 0, 1, 0, ...text("ctrnet"), 0, //         NFTA_SET_ELEM_LIST_TABLE "ctrnet"
      9, 0, 2, 0, ...text("dnat"), 0, 0, 0, //      NFTA_SET_ELEM_LIST_SET "dnat"
      80, 0, 3, N, //                               NFTA_SET_ELEM_LIST_ELEMENTS, nested
      40, 0, 1, N, //                                 NFTA_LIST_ELEM, nested
      20, 0, 1, N, //                                   NFTA_SET_ELEM_KEY, nested
      16, 0, 1, 0, //                                     NFTA_DATA_VALUE, 12 bytes:
      10, 0, 0, 1, //                                       10.0.0.1
      6, 0, 0, 0, //                                        tcp, padded to 4
      0x1f, 0x90, 0, 0, //                                  8080, padded to 4
      16, 0, 2, N, //                                   NFTA_SET_ELEM_DATA, nested
      12, 0, 1, 0, //                                     NFTA_DATA_VALUE, 8 bytes:
      10, 88, 0, 2, //                                      10.88.0.2
      0, 80, 0, 0, //                                       80, padded to 4
      36, 0, 1, N, //                                 NFTA_LIST_ELEM, nested
      8, 0, 3, 0, 0, 0, 0, 1, //                        NFTA_SET_ELEM_FLAGS NFT_SET_ELEM_INTERVAL_END
      12, 0, 1, N, //                                   NFTA_SET_ELEM_KEY, nested
      6, 0, 1, 0, 0x07, 0xd1, 0, 0, //                    NFTA_DATA_VALUE 2001
      12, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0x75, 0x30, //     NFTA_SET_ELEM_TIMEOUT 30000 ms (be64)
    ]);
    const set = { family: "inet" as const, table: "ctrnet", name: "dnat" };
    const elements = [
      { key: concat(ipv4("10.0.0.1"), inetProto("tcp"), inetService(8080)), data: concat(ipv4("10.88.0.2"), inetService(80)) },
      { key: inetService(2001), intervalEnd: true, timeoutMs: 30000 },
    ];
    const w = new Writer();
    elemListMessage.encode(w, elementsMessageOf(set, elements));
    expect(w.finish()).toEqual(golden);
    expect(toElements(elemListMessage.decode(golden, []))).toEqual({ set, elements });
  });
});

/** An NLMSG_ERROR answering `seq` (capped: the request's header only), with an extended-ack message. */
function answer(seq: number, type: number, errno: number, message?: string): number[] {
  const ext = message === undefined ? [] : [...attr(1, text(message))];
  const flags = 0x100 | (ext.length ? 0x200 : 0); // NLM_F_CAPPED | NLM_F_ACK_TLVS
  const body = [...le32(-errno), ...le32(20), type & 0xff, type >> 8, 0x05, 0x04, ...le32(seq), ...le32(0), ...ext];
  return [...le32(16 + body.length), 2, 0, flags & 0xff, flags >> 8, ...le32(seq), ...le32(0), ...body];
}

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}

function attr(type: number, content: number[]): number[] {
  const out = [4 + content.length, 0, type, 0, ...content];
  while (out.length % 4) out.push(0);
  return out;
}

describe("batch acknowledgements", () => {
  const sent = frameBatch(
    [
      { msg: NFT_MSG.NEWTABLE, flags: NLM_F_CREATE, operation: "add table inet ctrnet", body: () => {} },
      { msg: NFT_MSG.NEWRULE, flags: NLM_F_CREATE | NLM_F_APPEND, operation: "append rule in inet ctrnet nope", body: () => {} },
    ],
    counter(10),
  ).messages;

  test("complete when every message is acknowledged", () => {
    const acks = new BatchAcks(sent);
    acks.add(Uint8Array.from(answer(11, 0x0a00, 0)));
    expect(acks.complete).toBe(false);
    acks.add(Uint8Array.from([...answer(99, 0x0a06, 0), ...answer(12, 0x0a06, 0)]));
    expect(acks.complete).toBe(true);
    expect(() => acks.check()).not.toThrow();
  });

  test("a refused message: its operation, message type, errno name and the kernel's text", () => {
    const acks = new BatchAcks(sent);
    // an aborted batch still acknowledges the message that was fine
    acks.add(Uint8Array.from([...answer(11, 0x0a00, 0), ...answer(12, 0x0a06, 2, "no such chain")]));
    expect(acks.complete).toBe(true);
    expect(acks.failed).toBe(true);
    let err: unknown;
    try {
      acks.check();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NftBatchError);
    const e = err as NftBatchError;
    expect(e.code).toBe("ENOENT");
    expect(e.messageType).toBe("NFT_MSG_NEWRULE");
    expect(e.kernelMessage).toBe("no such chain");
    expect(e.message).toBe(
      "netlink: append rule in inet ctrnet nope (NFT_MSG_NEWRULE): no such file or directory (ENOENT): no such chain",
    );
  });

  test("a stale generation is refused on the batch's first message", () => {
    const acks = new BatchAcks(sent);
    acks.add(Uint8Array.from(answer(10, 0x10, 85)));
    expect(acks.failed).toBe(true);
    expect(() => acks.check()).toThrow(/begin batch \(NFNL_MSG_BATCH_BEGIN\).*ERESTART/);
  });

  test("answers that stop short of every acknowledgement are an error, not a success", () => {
    const acks = new BatchAcks(sent);
    acks.add(Uint8Array.from(answer(11, 0x0a00, 0)));
    expect(() => acks.check()).toThrow(/append rule in inet ctrnet nope \(NFT_MSG_NEWRULE\).*no acknowledgement/);
  });
});
