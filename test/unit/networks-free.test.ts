// Picking free subnets and names against a given set of taken ones.
import { describe, expect, test } from "bun:test";
import { type Cidr, formatCidr, parseCidr } from "../../src/ip/codec.ts";
import { pickFreeName, pickFreeSubnet, pickRandomIPv6Subnet } from "../../src/networks/free.ts";

const cidr = (text: string): Cidr => parseCidr(text)!;
const pick = (taken: string[]) => formatCidr(pickFreeSubnet(taken.map(cidr)));

/** Hands out the given 8-byte blocks in turn. */
function bytesFrom(...blocks: number[][]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    expect(n).toBe(8);
    return Uint8Array.from(blocks[i++ % blocks.length]!);
  };
}

describe("pickFreeSubnet", () => {
  test("IPv4 starts at podman's 10.89.0.0/24 and counts up in /24s, carrying into the second octet", () => {
    expect(pick([])).toBe("10.89.0.0/24");
    expect(pick(["10.89.0.0/24", "10.89.1.0/24"])).toBe("10.89.2.0/24");
    expect(pick(["10.89.0.0/16"])).toBe("10.90.0.0/24");
  });

  test("anything overlapping is taken: a larger route, a smaller network inside a candidate", () => {
    expect(pick(["10.89.0.128/25"])).toBe("10.89.1.0/24");
    expect(pick(["10.0.0.0/9"])).toBe("10.128.0.0/24");
    expect(pick(["fd00::/64"])).toBe("10.89.0.0/24");
  });

  test("says where it looked when nothing is left", () => {
    expect(() => pick(["10.0.0.0/8"])).toThrow("no free IPv4 subnet left from 10.89.0.0/24 to 10.255.255.0/24");
  });
});

describe("pickRandomIPv6Subnet", () => {
  test("fd00::/8 with the next 56 bits random, as RFC 4193 and podman", () => {
    const subnet = pickRandomIPv6Subnet([], bytesFrom([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]));
    expect(formatCidr(subnet)).toBe("fd34:5678:9abc:def0::/64");
  });

  test("a taken one is drawn again", () => {
    const random = bytesFrom([0, 1, 0, 0, 0, 0, 0, 0], [0, 2, 0, 0, 0, 0, 0, 0]);
    expect(formatCidr(pickRandomIPv6Subnet([cidr("fd01::/16")], random))).toBe("fd02::/64");
  });

  test("gives up after podman's 10000 tries", () => {
    expect(() => pickRandomIPv6Subnet([cidr("fd00::/8")], bytesFrom([0, 0, 0, 0, 0, 0, 0, 0]))).toThrow("no free IPv6 subnet found in 10000 random tries");
  });

  test("the real random source gives different subnets", () => {
    const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
    const picked = new Set(Array.from({ length: 20 }, () => formatCidr(pickRandomIPv6Subnet([], random))));
    expect(picked.size).toBe(20);
    for (const s of picked) expect(s).toMatch(/^fd[0-9a-f]{2}:/);
  });
});

describe("pickFreeName", () => {
  test("the lowest free number from 1", () => {
    expect(pickFreeName("ctrnet", new Set())).toBe("ctrnet1");
    expect(pickFreeName("ctrnet", new Set(["ctrnet1", "ctrnet3"]))).toBe("ctrnet2");
  });
});
