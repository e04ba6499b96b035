// Picking free subnets and names against a given set of taken ones.
import { describe, expect, test } from "bun:test";
import { type Cidr, formatCidr, parseCidr } from "../../src/ip/codec.ts";
import { pickFreeName, pickFreeSubnet } from "../../src/networks/free.ts";

const cidr = (text: string): Cidr => parseCidr(text)!;
const pick = (family: 4 | 6, taken: string[]) => formatCidr(pickFreeSubnet(family, taken.map(cidr)));

describe("pickFreeSubnet", () => {
  test("IPv4 starts at podman's 10.89.0.0/24 and counts up in /24s, carrying into the second octet", () => {
    expect(pick(4, [])).toBe("10.89.0.0/24");
    expect(pick(4, ["10.89.0.0/24", "10.89.1.0/24"])).toBe("10.89.2.0/24");
    expect(pick(4, ["10.89.0.0/16"])).toBe("10.90.0.0/24");
  });

  test("anything overlapping is taken: a larger route, a smaller network inside a candidate", () => {
    expect(pick(4, ["10.89.0.128/25"])).toBe("10.89.1.0/24");
    expect(pick(4, ["10.0.0.0/9"])).toBe("10.128.0.0/24");
    expect(pick(4, ["fd00::/64"])).toBe("10.89.0.0/24");
  });

  test("IPv6 starts at fd00::/64 and counts up in the fourth group", () => {
    expect(pick(6, [])).toBe("fd00::/64");
    expect(pick(6, ["fd00::/64", "fd00:0:0:1::/64"])).toBe("fd00:0:0:2::/64");
    expect(pick(6, ["10.89.0.0/24"])).toBe("fd00::/64");
  });

  test("says where it looked when nothing is left", () => {
    expect(() => pick(4, ["10.0.0.0/8"])).toThrow("no free IPv4 subnet left from 10.89.0.0/24 to 10.255.255.0/24");
    expect(() => pick(6, ["fd00::/48"])).toThrow("no free IPv6 subnet left from fd00::/64 to fd00:0:0:ffff::/64");
  });
});

describe("pickFreeName", () => {
  test("the lowest free number from the start", () => {
    expect(pickFreeName("ctrnet", new Set())).toBe("ctrnet1");
    expect(pickFreeName("ctrnet", new Set(["ctrnet1", "ctrnet3"]))).toBe("ctrnet2");
    expect(pickFreeName("ctrnet", new Set(["ctrnet1"]), 0)).toBe("ctrnet0");
  });
});
