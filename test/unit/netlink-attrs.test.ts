// The attribute layer: alignment, padding, nesting, unknown attributes and malformed lengths.
import { describe, expect, test } from "bun:test";
import { attrTable, attrValue, decodeAttrs, encodeAttrs, nested, string, u16, u32, u64, u8 } from "../../src/netlink/attrs.ts";
import { NetlinkMalformedError } from "../../src/netlink/errors.ts";
import { splitMessages, Writer } from "../../src/netlink/wire.ts";

const INNER = attrTable("inner", { count: [1, u32] });
const TABLE = attrTable("test", {
  flag: [1, u8],
  port: [2, u16],
  name: [3, string],
  total: [4, u64],
  inner: [5 | 0x8000, nested(INNER)],
});

function encode(attrs: Parameters<typeof encodeAttrs<typeof TABLE.spec>>[2]): Uint8Array {
  const w = new Writer(8);
  encodeAttrs(w, TABLE, attrs);
  return w.finish();
}

describe("attributes", () => {
  test("the length excludes the padding, and the padding is zero", () => {
    expect(encode([{ name: "flag", value: 7 }])).toEqual(Uint8Array.from([5, 0, 1, 0, 7, 0, 0, 0]));
    expect(encode([{ name: "port", value: 0x1234 }])).toEqual(Uint8Array.from([6, 0, 2, 0, 0x34, 0x12, 0, 0]));
    expect(encode([{ name: "name", value: "abcd" }])).toEqual(Uint8Array.from([9, 0, 3, 0, 0x61, 0x62, 0x63, 0x64, 0, 0, 0, 0]));
  });

  test("a nested attribute counts its children's padding, and keeps its NLA_F_NESTED bit", () => {
    const bytes = encode([{ name: "inner", value: [{ name: "count", value: 2 }] }]);
    expect(bytes).toEqual(Uint8Array.from([12, 0, 5, 0x80, 8, 0, 1, 0, 2, 0, 0, 0]));
    expect(decodeAttrs(TABLE, bytes)).toEqual([{ name: "inner", value: [{ name: "count", value: 2 }] }]);
  });

  test("order and repeats survive a round trip; unknown types are kept with their flag bits", () => {
    const bytes = Uint8Array.from([
      8, 0, 4, 0x40, 1, 2, 3, 4, //           type 4 with NLA_F_NET_BYTEORDER and 4 bytes: not a u64, kept raw
      6, 0, 3, 0, 0x78, 0, 0, 0, //             name "x"
      5, 0, 9, 0, 0xaa, 0, 0, 0, //             type 9: unknown
      6, 0, 3, 0, 0x79, 0, 0, 0, //             name "y"
      12, 0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0x80, // total 2^63 + 1
    ]);
    const attrs = decodeAttrs(TABLE, bytes);
    expect(attrs).toEqual([
      { name: null, type: 0x4004, value: Uint8Array.from([1, 2, 3, 4]) },
      { name: "name", value: "x" },
      { name: null, type: 9, value: Uint8Array.from([0xaa]) },
      { name: "name", value: "y" },
      { name: "total", value: 2n ** 63n + 1n },
    ]);
    expect(attrValue(attrs, "name")).toBe("x");
    expect(encode(attrs)).toEqual(bytes);
  });

  test("an attribute that overruns its container is malformed", () => {
    expect(() => decodeAttrs(TABLE, Uint8Array.from([12, 0, 1, 0, 7, 0, 0, 0]))).toThrow(NetlinkMalformedError);
    expect(() => decodeAttrs(TABLE, Uint8Array.from([2, 0, 1, 0]))).toThrow(NetlinkMalformedError);
  });

  test("the writer grows and keeps what it wrote", () => {
    const w = new Writer(4);
    for (let i = 0; i < 100; i++) w.u64(BigInt(i));
    const view = new DataView(w.finish().buffer);
    expect(view.getBigUint64(99 * 8, true)).toBe(99n);
    expect(view.getBigUint64(0, true)).toBe(0n);
  });
});

describe("messages", () => {
  test("a message whose length overruns the datagram is malformed", () => {
    const bytes = Uint8Array.from([32, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => splitMessages(bytes)).toThrow(/nlmsghdr at offset 0 has length 32 in a 16-byte datagram/);
  });

  test("several messages in one datagram, each 4-byte aligned", () => {
    const w = new Writer();
    w.message({ type: 16, flags: 2, seq: 1, pid: 0 }, () => w.u8(1));
    w.message({ type: 16, flags: 2, seq: 1, pid: 0 }, () => w.u16(2));
    const messages = splitMessages(w.finish());
    expect(messages.map((m) => [...m.payload])).toEqual([
      [1, 0, 0, 0],
      [2, 0, 0, 0],
    ]);
  });
});
