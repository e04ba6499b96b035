// nftables data types and values: nft's numbering of concatenated types, register layout, interval ends.
import { describe, expect, test } from "bun:test";
import { intervalElements } from "../../src/netlink/nftables/sets.ts";
import { concat, concatType, hostU32, ifname, inetProto, inetService, ipv4, ipv6, successor, TYPES } from "../../src/netlink/nftables/values.ts";

describe("data types", () => {
  test("a concatenation folds its members' numbers 6 bits at a time and pads each to 4 bytes", () => {
    expect(concatType(TYPES.ipv4_addr, TYPES.inet_proto, TYPES.inet_service)).toEqual({
      name: "ipv4_addr . inet_proto . inet_service",
      id: 0x730d,
      len: 12,
      fields: [4, 1, 2],
    });
    expect(concatType(TYPES.ipv6_addr, TYPES.inet_service)).toMatchObject({ id: (8 << 6) | 13, len: 20, fields: [16, 2] });
    expect(() => concatType(TYPES.mark)).toThrow(RangeError);
  });
});

describe("values", () => {
  test("bytes as registers hold them", () => {
    expect(concat(ipv4("10.0.0.1"), inetProto("udp"), inetService(53))).toEqual(Uint8Array.of(10, 0, 0, 1, 17, 0, 0, 0, 0, 53, 0, 0));
    expect(ipv6("fd00::1").length).toBe(16);
    expect(inetService(8080)).toEqual(Uint8Array.of(0x1f, 0x90));
    expect(ifname("br0")).toEqual(Uint8Array.of(0x62, 0x72, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    expect(hostU32(1).length).toBe(4);
  });

  test("out-of-range values are refused by name", () => {
    expect(() => inetService(70000)).toThrow("port 70000 is out of range");
    expect(() => ipv4("10.0.0")).toThrow('"10.0.0" is not an IPv4 address');
    expect(() => ifname("a-name-of-16-bytes")).toThrow("1 to 15 bytes");
  });

  test("an interval ends just past its last value, and has no end at the largest value", () => {
    expect(successor(Uint8Array.of(0x01, 0xff))).toEqual(Uint8Array.of(0x02, 0x00));
    expect(successor(Uint8Array.of(0xff, 0xff))).toBeNull();
    expect(intervalElements(inetService(80), inetService(90))).toEqual([
      { key: inetService(80) },
      { key: inetService(91), intervalEnd: true },
    ]);
    expect(intervalElements(inetService(60000), inetService(65535))).toEqual([{ key: inetService(60000) }]);
  });
});
