import { describe, expect, test } from "bun:test";
import {
  formatCidr,
  formatIP,
  formatIPv6,
  formatMac,
  parseCidr,
  parseIP,
  parseIPv4,
  parseIPv6,
  parseMac,
} from "../../src/ip/codec.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("IPv4", () => {
  test("parses dotted quads", () => {
    expect(parseIPv4("10.88.0.1")).toEqual(bytes(10, 88, 0, 1));
    expect(parseIPv4("0.0.0.0")).toEqual(bytes(0, 0, 0, 0));
    expect(parseIPv4("255.255.255.255")).toEqual(bytes(255, 255, 255, 255));
  });

  test.each(["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "1.2.3.4 ", "a.b.c.d", "1..2.3", "1.2.3.1000"])(
    "rejects %p",
    (text) => expect(parseIPv4(text)).toBeNull(),
  );

  test("formats", () => expect(formatIP(bytes(192, 168, 1, 254))).toBe("192.168.1.254"));
});

describe("IPv6", () => {
  const cases: [string, string][] = [
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::1", "fe80::1"],
    ["FD00:0:0:0:0:0:0:1", "fd00::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:db8:0:0:0:1:0:0", "2001:db8::1:0:0"], // the longer run wins
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group is not compressed
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
  ];
  test.each(cases)("%p round-trips as %p", (text, canonical) => {
    const parsed = parseIPv6(text);
    expect(parsed).not.toBeNull();
    expect(formatIPv6(parsed!)).toBe(canonical);
    expect(parseIPv6(canonical)).toEqual(parsed!);
  });

  test("puts each group where it belongs", () => {
    expect(parseIPv6("fd00::1:2")).toEqual(bytes(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2));
    expect(parseIPv6("::ffff:1.2.3.4")).toEqual(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4));
  });

  test.each([
    "",
    ":",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "12345::",
    "g::1",
    ":1::2",
    "1::2:",
    "fe80::1%eth0",
    "::1.2.3",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:1.2.3.4",
  ])("rejects %p", (text) => expect(parseIPv6(text)).toBeNull());
});

test("parseIP picks the family from the text", () => {
  expect(parseIP("10.0.0.1")?.length).toBe(4);
  expect(parseIP("fd00::1")?.length).toBe(16);
  expect(parseIP("example.com")).toBeNull();
});

test("formatIP refuses other lengths", () => {
  expect(() => formatIP(bytes(1, 2, 3))).toThrow(RangeError);
});

describe("CIDR", () => {
  test("parses and formats", () => {
    const cidr = parseCidr("10.88.0.2/16")!;
    expect(cidr).toEqual({ address: bytes(10, 88, 0, 2), prefixLength: 16 });
    expect(formatCidr(cidr)).toBe("10.88.0.2/16");
    expect(formatCidr(parseCidr("FD00::0001/64")!)).toBe("fd00::1/64");
    expect(parseCidr("0.0.0.0/0")?.prefixLength).toBe(0);
    expect(parseCidr("::/128")?.prefixLength).toBe(128);
  });

  test.each(["10.0.0.1", "10.0.0.1/33", "fd00::1/129", "10.0.0.1/", "10.0.0.1/024", "10.0.0.1/-1", "/24", "x/24"])(
    "rejects %p",
    (text) => expect(parseCidr(text)).toBeNull(),
  );
});

describe("MAC", () => {
  test("parses either case and formats lowercase", () => {
    const mac = parseMac("02:42:AC:11:00:0f")!;
    expect(mac).toEqual(bytes(0x02, 0x42, 0xac, 0x11, 0x00, 0x0f));
    expect(formatMac(mac)).toBe("02:42:ac:11:00:0f");
  });

  test("formats link-layer addresses of any length", () => {
    expect(formatMac(bytes(10, 0, 0, 1))).toBe("0a:00:00:01");
    expect(formatMac(new Uint8Array(0))).toBe("");
  });

  test.each(["", "02:42:ac:11:00", "02:42:ac:11:00:02:03", "02-42-ac-11-00-02", "2:42:ac:11:0:2", "0g:42:ac:11:00:02"])(
    "rejects %p",
    (text) => expect(parseMac(text)).toBeNull(),
  );
});
