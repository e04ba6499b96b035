// Golden bytes for each nf_tables expression, as the NFTA_LIST_ELEM content of a rule: NFTA_EXPR_NAME, then
// NFTA_EXPR_DATA. Attribute headers are host order (little-endian here); nf_tables' integers are big-endian.
// Attribute order follows what `nft --debug=mnl` (nft 1.0.6) sends for the fragment named in each test.
import { describe, expect, test } from "bun:test";
import { expression, type Expr } from "../../src/netlink/nftables/expr/index.ts";
import { Writer } from "../../src/netlink/wire.ts";

const N = 0x80; // high byte of NLA_F_NESTED in an attribute's type

/** An expression name as the wire has it: NUL-terminated, zero-padded to 4 bytes (the padding is written out below). */
function name(text: string): number[] {
  return [...Buffer.from(`${text}\0`)];
}

function encode(e: Expr): Uint8Array {
  const w = new Writer();
  expression.encode(w, e);
  return w.finish();
}

const CASES: [string, number[], Expr][] = [
  [
    "payload load 4b @ network header + 16 => reg 1 (ip daddr)",
    [
      12, 0, 1, 0, ...name("payload"), //                NFTA_EXPR_NAME "payload"
      36, 0, 2, N, //                                     NFTA_EXPR_DATA, nested
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_PAYLOAD_DREG 1
      8, 0, 2, 0, 0, 0, 0, 1, //                            NFTA_PAYLOAD_BASE network header
      8, 0, 3, 0, 0, 0, 0, 16, //                           NFTA_PAYLOAD_OFFSET 16
      8, 0, 4, 0, 0, 0, 0, 4, //                            NFTA_PAYLOAD_LEN 4
    ],
    { type: "payload", base: "network", offset: 16, len: 4, dreg: 1 },
  ],
  [
    "payload load 2b @ transport header + 2 => reg 10 (th dport into a concatenation)",
    [
      12, 0, 1, 0, ...name("payload"),
      36, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 10, //                           NFTA_PAYLOAD_DREG 10 (NFT_REG32_02)
      8, 0, 2, 0, 0, 0, 0, 2, //                            NFTA_PAYLOAD_BASE transport header
      8, 0, 3, 0, 0, 0, 0, 2, //                            NFTA_PAYLOAD_OFFSET 2
      8, 0, 4, 0, 0, 0, 0, 2, //                            NFTA_PAYLOAD_LEN 2
    ],
    { type: "payload", base: "transport", offset: 2, len: 2, dreg: 10 },
  ],
  [
    "cmp eq reg 1 0x02 (meta nfproto ipv4)",
    [
      8, 0, 1, 0, ...name("cmp"), //                      NFTA_EXPR_NAME "cmp"
      32, 0, 2, N, //                                     NFTA_EXPR_DATA, nested
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_CMP_SREG 1
      8, 0, 2, 0, 0, 0, 0, 0, //                            NFTA_CMP_OP NFT_CMP_EQ
      12, 0, 3, N, //                                       NFTA_CMP_DATA, nested
      5, 0, 1, 0, 2, 0, 0, 0, //                              NFTA_DATA_VALUE 0x02, 3 bytes of padding
    ],
    { type: "cmp", sreg: 1, op: "eq", data: Uint8Array.of(2) },
  ],
  [
    "cmp neq reg 1 0x0a58 (ip daddr != 10.88.0.0/16, first two bytes)",
    [
      8, 0, 1, 0, ...name("cmp"),
      32, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_CMP_SREG 1
      8, 0, 2, 0, 0, 0, 0, 1, //                            NFTA_CMP_OP NFT_CMP_NEQ
      12, 0, 3, N, //                                       NFTA_CMP_DATA, nested
      6, 0, 1, 0, 10, 88, 0, 0, //                            NFTA_DATA_VALUE 0a 58, 2 bytes of padding
    ],
    { type: "cmp", sreg: 1, op: "neq", data: Uint8Array.of(10, 88) },
  ],
  [
    "meta load l4proto => reg 9",
    [
      9, 0, 1, 0, ...name("meta"), 0, 0, 0, //            NFTA_EXPR_NAME "meta", 3 bytes of padding
      20, 0, 2, N, //                                     NFTA_EXPR_DATA, nested
      8, 0, 2, 0, 0, 0, 0, 16, //                           NFTA_META_KEY NFT_META_L4PROTO
      8, 0, 1, 0, 0, 0, 0, 9, //                            NFTA_META_DREG 9 (NFT_REG32_01)
    ],
    { type: "meta", key: "l4proto", dreg: 9 },
  ],
  [
    "meta set mark with reg 1",
    [
      9, 0, 1, 0, ...name("meta"), 0, 0, 0,
      20, 0, 2, N,
      8, 0, 2, 0, 0, 0, 0, 3, //                            NFTA_META_KEY NFT_META_MARK
      8, 0, 3, 0, 0, 0, 0, 1, //                            NFTA_META_SREG 1
    ],
    { type: "meta", key: "mark", sreg: 1 },
  ],
  [
    "lookup reg 1 set ports (a set: no dreg)",
    [
      11, 0, 1, 0, ...name("lookup"), 0, //               NFTA_EXPR_NAME "lookup", 1 byte of padding
      24, 0, 2, N, //                                     NFTA_EXPR_DATA, nested
      8, 0, 2, 0, 0, 0, 0, 1, //                            NFTA_LOOKUP_SREG 1
      10, 0, 1, 0, ...name("ports"), 0, 0, //               NFTA_LOOKUP_SET "ports", 2 bytes of padding
    ],
    { type: "lookup", set: "ports", sreg: 1 },
  ],
  [
    "lookup reg 1 set dnat dreg 1, set id 3 (a map added in the same batch)",
    [
      11, 0, 1, 0, ...name("lookup"), 0,
      40, 0, 2, N,
      8, 0, 2, 0, 0, 0, 0, 1, //                            NFTA_LOOKUP_SREG 1
      8, 0, 3, 0, 0, 0, 0, 1, //                            NFTA_LOOKUP_DREG 1
      9, 0, 1, 0, ...name("dnat"), 0, 0, 0, //              NFTA_LOOKUP_SET "dnat", 3 bytes of padding
      8, 0, 4, 0, 0, 0, 0, 3, //                            NFTA_LOOKUP_SET_ID 3
    ],
    { type: "lookup", set: "dnat", sreg: 1, dreg: 1, setId: 3 },
  ],
  [
    "nat dnat ip addr_min reg 1 proto_min reg 9",
    [
      8, 0, 1, 0, ...name("nat"), //                      NFTA_EXPR_NAME "nat"
      36, 0, 2, N, //                                     NFTA_EXPR_DATA, nested
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_NAT_TYPE NFT_NAT_DNAT
      8, 0, 2, 0, 0, 0, 0, 2, //                            NFTA_NAT_FAMILY NFPROTO_IPV4
      8, 0, 3, 0, 0, 0, 0, 1, //                            NFTA_NAT_REG_ADDR_MIN 1
      8, 0, 5, 0, 0, 0, 0, 9, //                            NFTA_NAT_REG_PROTO_MIN 9
    ],
    { type: "nat", nat: "dnat", family: "ip", regAddrMin: 1, regProtoMin: 9 },
  ],
  [
    "nat snat ip6 addr_min reg 1 flags persistent",
    [
      8, 0, 1, 0, ...name("nat"),
      36, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 0, //                            NFTA_NAT_TYPE NFT_NAT_SNAT
      8, 0, 2, 0, 0, 0, 0, 10, //                           NFTA_NAT_FAMILY NFPROTO_IPV6
      8, 0, 3, 0, 0, 0, 0, 1, //                            NFTA_NAT_REG_ADDR_MIN 1
      8, 0, 7, 0, 0, 0, 0, 8, //                            NFTA_NAT_FLAGS NF_NAT_RANGE_PERSISTENT
    ],
    { type: "nat", nat: "snat", family: "ip6", regAddrMin: 1, flags: 8 },
  ],
  [
    "masq (no attributes: an empty NFTA_EXPR_DATA)",
    [
      9, 0, 1, 0, ...name("masq"), 0, 0, 0, //            NFTA_EXPR_NAME "masq", 3 bytes of padding
      4, 0, 2, N, //                                      NFTA_EXPR_DATA, nested, empty
    ],
    { type: "masq" },
  ],
  [
    "masq random",
    [
      9, 0, 1, 0, ...name("masq"), 0, 0, 0,
      12, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 4, //                            NFTA_MASQ_FLAGS NF_NAT_RANGE_PROTO_RANDOM
    ],
    { type: "masq", flags: 4 },
  ],
  [
    "redir proto_min reg 1 flags 0x2 (redirect to :8080)",
    [
      10, 0, 1, 0, ...name("redir"), 0, 0, //             NFTA_EXPR_NAME "redir", 2 bytes of padding
      20, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_REDIR_REG_PROTO_MIN 1
      8, 0, 3, 0, 0, 0, 0, 2, //                            NFTA_REDIR_FLAGS NF_NAT_RANGE_PROTO_SPECIFIED
    ],
    { type: "redir", regProtoMin: 1, flags: 2 },
  ],
  [
    "ct load state => reg 1",
    [
      7, 0, 1, 0, ...name("ct"), 0, //                    NFTA_EXPR_NAME "ct", 1 byte of padding
      20, 0, 2, N,
      8, 0, 2, 0, 0, 0, 0, 0, //                            NFTA_CT_KEY NFT_CT_STATE
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_CT_DREG 1
    ],
    { type: "ct", key: "state", dreg: 1 },
  ],
  [
    "ct set mark with reg 1",
    [
      7, 0, 1, 0, ...name("ct"), 0,
      20, 0, 2, N,
      8, 0, 2, 0, 0, 0, 0, 3, //                            NFTA_CT_KEY NFT_CT_MARK
      8, 0, 4, 0, 0, 0, 0, 1, //                            NFTA_CT_SREG 1
    ],
    { type: "ct", key: "mark", sreg: 1 },
  ],
  [
    "ct load src => reg 1, direction original (a key with a direction)",
    [
      7, 0, 1, 0, ...name("ct"), 0,
      28, 0, 2, N,
      8, 0, 2, 0, 0, 0, 0, 8, //                            NFTA_CT_KEY NFT_CT_SRC
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_CT_DREG 1
      5, 0, 3, 0, 0, 0, 0, 0, //                            NFTA_CT_DIRECTION original (a u8), 3 bytes of padding
    ],
    { type: "ct", key: "src", dreg: 1, direction: "original" },
  ],
  [
    "fib daddr type => reg 1",
    [
      8, 0, 1, 0, ...name("fib"), //                      NFTA_EXPR_NAME "fib"
      28, 0, 2, N,
      8, 0, 3, 0, 0, 0, 0, 2, //                            NFTA_FIB_FLAGS NFTA_FIB_F_DADDR
      8, 0, 2, 0, 0, 0, 0, 3, //                            NFTA_FIB_RESULT NFT_FIB_RESULT_ADDRTYPE
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_FIB_DREG 1
    ],
    { type: "fib", result: "addrtype", flags: 2, dreg: 1 },
  ],
  [
    "immediate reg 0 accept",
    [
      14, 0, 1, 0, ...name("immediate"), 0, 0, //         NFTA_EXPR_NAME "immediate", 2 bytes of padding
      28, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 0, //                            NFTA_IMMEDIATE_DREG NFT_REG_VERDICT
      16, 0, 2, N, //                                       NFTA_IMMEDIATE_DATA, nested
      12, 0, 2, N, //                                         NFTA_DATA_VERDICT, nested
      8, 0, 1, 0, 0, 0, 0, 1, //                                NFTA_VERDICT_CODE NF_ACCEPT
    ],
    { type: "immediate", dreg: 0, data: { kind: "accept" } },
  ],
  [
    "immediate reg 0 drop",
    [
      14, 0, 1, 0, ...name("immediate"), 0, 0,
      28, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 0, //                            NFTA_IMMEDIATE_DREG NFT_REG_VERDICT
      16, 0, 2, N,
      12, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 0, //                                NFTA_VERDICT_CODE NF_DROP
    ],
    { type: "immediate", dreg: 0, data: { kind: "drop" } },
  ],
  [
    "immediate reg 0 return",
    [
      14, 0, 1, 0, ...name("immediate"), 0, 0,
      28, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 0,
      16, 0, 2, N,
      12, 0, 2, N,
      8, 0, 1, 0, 0xff, 0xff, 0xff, 0xfb, //                    NFTA_VERDICT_CODE NFT_RETURN (-5)
    ],
    { type: "immediate", dreg: 0, data: { kind: "return" } },
  ],
  [
    "immediate reg 0 jump -> fw",
    [
      14, 0, 1, 0, ...name("immediate"), 0, 0,
      36, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 0,
      24, 0, 2, N,
      20, 0, 2, N,
      8, 0, 1, 0, 0xff, 0xff, 0xff, 0xfd, //                    NFTA_VERDICT_CODE NFT_JUMP (-3)
      7, 0, 2, 0, ...name("fw"), 0, //                          NFTA_VERDICT_CHAIN "fw", 1 byte of padding
    ],
    { type: "immediate", dreg: 0, data: { kind: "jump", chain: "fw" } },
  ],
  [
    "immediate reg 0 goto -> fw",
    [
      14, 0, 1, 0, ...name("immediate"), 0, 0,
      36, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 0,
      24, 0, 2, N,
      20, 0, 2, N,
      8, 0, 1, 0, 0xff, 0xff, 0xff, 0xfc, //                    NFTA_VERDICT_CODE NFT_GOTO (-4)
      7, 0, 2, 0, ...name("fw"), 0,
    ],
    { type: "immediate", dreg: 0, data: { kind: "goto", chain: "fw" } },
  ],
  [
    "immediate reg 1 0x1f90 (port 8080 for redirect)",
    [
      14, 0, 1, 0, ...name("immediate"), 0, 0,
      24, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_IMMEDIATE_DREG 1
      12, 0, 2, N, //                                       NFTA_IMMEDIATE_DATA, nested
      6, 0, 1, 0, 0x1f, 0x90, 0, 0, //                        NFTA_DATA_VALUE 1f 90, 2 bytes of padding
    ],
    { type: "immediate", dreg: 1, data: Uint8Array.of(0x1f, 0x90) },
  ],
  [
    "counter pkts 3 bytes 180",
    [
      12, 0, 1, 0, ...name("counter"), //                 NFTA_EXPR_NAME "counter"
      28, 0, 2, N,
      12, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 180, //             NFTA_COUNTER_BYTES 180 (be64)
      12, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3, //               NFTA_COUNTER_PACKETS 3 (be64)
    ],
    { type: "counter", bytes: 180n, packets: 3n },
  ],
  [
    "bitwise reg 1 = ( reg 1 & 0x00000006 ) ^ 0x00000000 (ct state established,related)",
    [
      12, 0, 1, 0, ...name("bitwise"), //                 NFTA_EXPR_NAME "bitwise"
      52, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_BITWISE_SREG 1
      8, 0, 2, 0, 0, 0, 0, 1, //                            NFTA_BITWISE_DREG 1
      8, 0, 3, 0, 0, 0, 0, 4, //                            NFTA_BITWISE_LEN 4
      12, 0, 4, N, //                                       NFTA_BITWISE_MASK, nested
      8, 0, 1, 0, 6, 0, 0, 0, //                              NFTA_DATA_VALUE 06 00 00 00 (host order bits)
      12, 0, 5, N, //                                       NFTA_BITWISE_XOR, nested
      8, 0, 1, 0, 0, 0, 0, 0, //                              NFTA_DATA_VALUE 0
    ],
    { type: "bitwise", sreg: 1, dreg: 1, len: 4, mask: Uint8Array.of(6, 0, 0, 0), xor: Uint8Array.of(0, 0, 0, 0) },
  ],
  [
    "range eq reg 1 0x0050 0x005a (a port range; nft itself writes cmp gte and lte)",
    [
      10, 0, 1, 0, ...name("range"), 0, 0, //             NFTA_EXPR_NAME "range", 2 bytes of padding
      44, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_RANGE_SREG 1
      8, 0, 2, 0, 0, 0, 0, 0, //                            NFTA_RANGE_OP NFT_RANGE_EQ
      12, 0, 3, N, //                                       NFTA_RANGE_FROM_DATA, nested
      6, 0, 1, 0, 0, 80, 0, 0, //                             NFTA_DATA_VALUE 00 50
      12, 0, 4, N, //                                       NFTA_RANGE_TO_DATA, nested
      6, 0, 1, 0, 0, 90, 0, 0, //                             NFTA_DATA_VALUE 00 5a
    ],
    { type: "range", sreg: 1, op: "eq", from: Uint8Array.of(0, 80), to: Uint8Array.of(0, 90) },
  ],
];

describe("nf_tables expressions: golden bytes", () => {
  for (const [title, golden, typed] of CASES) {
    test(title, () => {
      const bytes = Uint8Array.from(golden);
      expect(expression.decode(bytes, [])).toEqual(typed);
      expect(encode(typed)).toEqual(bytes);
      expect(encode(expression.decode(bytes, []))).toEqual(bytes);
    });
  }
});

describe("nf_tables expressions: what the decoder does not know", () => {
  test("an unknown attribute is kept and written back in place", () => {
    const bytes = Uint8Array.from([
      9, 0, 1, 0, ...name("masq"), 0, 0, 0,
      20, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 4, //                            NFTA_MASQ_FLAGS random
      8, 0, 9, 0, 1, 2, 3, 4, //                            attribute 9: no masq attribute has that number
    ]);
    const e = expression.decode(bytes, []);
    expect(e).toEqual({ type: "masq", flags: 4, unknown: [{ name: null, type: 9, value: Uint8Array.of(1, 2, 3, 4) }] });
    expect(encode(e)).toEqual(bytes);
  });

  test("an unknown expression keeps its name and raw data", () => {
    const bytes = Uint8Array.from([
      8, 0, 1, 0, ...name("log"), //                      NFTA_EXPR_NAME "log"
      12, 0, 2, N,
      8, 0, 3, 0, 0, 0, 0, 4, //                            NFTA_LOG_LEVEL 4
    ]);
    const e = expression.decode(bytes, []);
    expect(e).toEqual({ type: "unknown", name: "log", data: Uint8Array.of(8, 0, 3, 0, 0, 0, 0, 4) });
    expect(encode(e)).toEqual(bytes);
  });

  test("a known expression missing a required attribute is kept raw, not thrown", () => {
    const bytes = Uint8Array.from([
      8, 0, 1, 0, ...name("cmp"),
      12, 0, 2, N,
      8, 0, 1, 0, 0, 0, 0, 1, //                            NFTA_CMP_SREG 1, and no NFTA_CMP_OP or NFTA_CMP_DATA
    ]);
    const e = expression.decode(bytes, []);
    expect(e).toEqual({ type: "unknown", name: "cmp", data: Uint8Array.of(8, 0, 1, 0, 0, 0, 0, 1) });
    expect(encode(e)).toEqual(bytes);
  });

  test("a meta key past the known ones is kept raw", () => {
    const bytes = Uint8Array.from([9, 0, 1, 0, ...name("meta"), 0, 0, 0, 12, 0, 2, N, 8, 0, 2, 0, 0, 0, 0, 200]);
    expect(expression.decode(bytes, [])).toMatchObject({ type: "unknown", name: "meta" });
  });
});
