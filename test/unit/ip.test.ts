import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { UsageError } from "../../src/errors.ts";
import { formatCidr, formatIP, parseIP } from "../../src/ip/codec.ts";
import {
  firstHost,
  IPAddress,
  lastHost,
  MACAddress,
  nthHost,
  parseNetworkSubnet,
  parseSubnet,
  reservedAddressProblem,
  subnetContains,
  subnetsOverlap,
  validateIP,
  validateMAC,
} from "../../src/schema/ip.ts";

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error("expected a UsageError");
}

const ip = (text: string): Uint8Array => parseIP(text)!;

describe("validateIP", () => {
  test.each([
    ["10.88.0.5", "10.88.0.5"],
    ["192.168.1.254", "192.168.1.254"],
    ["fd00::1", "fd00::1"],
    ["FD00:0:0:0:0:0:0:A", "fd00::a"],
    ["2001:db8::0:1", "2001:db8::1"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"],
    ["fe80::1", "fe80::1"],
  ])("accepts %p as %p", (input, canonical) => {
    expect(validateIP(input)).toBe(canonical);
  });

  test.each([
    ["", '"" is not an ip address'],
    ["x", '"x" is not an ip address'],
    ["10.88.0", '"10.88.0" is not an ip address'],
    ["10.88.0.256", '"10.88.0.256" is not an ip address'],
    ["010.88.0.1", '"010.88.0.1" is not an ip address'],
    ["10.88.0.1/16", '"10.88.0.1/16" is not an ip address'],
    [" 10.88.0.1", '" 10.88.0.1" is not an ip address'],
    ["fd00::1::2", '"fd00::1::2" is not an ip address'],
    ["fe80::1%eth0", '"fe80::1%eth0" is not an ip address'],
    ["0.0.0.0", 'invalid IP address "0.0.0.0": the unspecified address cannot be assigned to a container'],
    ["::", 'invalid IP address "::": the unspecified address cannot be assigned to a container'],
    ["127.0.0.2", 'invalid IP address "127.0.0.2": a loopback address cannot be assigned to a container'],
    ["::1", 'invalid IP address "::1": a loopback address cannot be assigned to a container'],
    ["224.0.0.1", 'invalid IP address "224.0.0.1": a multicast address cannot be assigned to a container'],
    ["239.255.255.250", 'invalid IP address "239.255.255.250": a multicast address cannot be assigned to a container'],
    ["ff02::1", 'invalid IP address "ff02::1": a multicast address cannot be assigned to a container'],
    ["255.255.255.255", 'invalid IP address "255.255.255.255": the broadcast address cannot be assigned to a container'],
  ])("rejects %p", (input, message) => {
    const err = usageError(() => validateIP(input));
    expect(err.message).toBe(message);
    expect(err.exitCode).toBe(2);
  });
});

describe("validateMAC", () => {
  test.each([
    ["02:42:ac:11:00:02", "02:42:ac:11:00:02"],
    ["52:54:00:AB:cd:EF", "52:54:00:ab:cd:ef"],
    ["fe:ff:ff:ff:ff:ff", "fe:ff:ff:ff:ff:ff"],
  ])("accepts %p as %p", (input, canonical) => {
    expect(validateMAC(input)).toBe(canonical);
  });

  const format = "expected six hex octets like 52:54:00:12:34:56";
  test.each([
    ["", `invalid MAC address "": ${format}`],
    ["x", `invalid MAC address "x": ${format}`],
    ["02:42:ac:11:00", `invalid MAC address "02:42:ac:11:00": ${format}`],
    ["02:42:ac:11:00:02:03", `invalid MAC address "02:42:ac:11:00:02:03": ${format}`],
    ["02-42-ac-11-00-02", `invalid MAC address "02-42-ac-11-00-02": ${format}`],
    ["2:42:ac:11:0:2", `invalid MAC address "2:42:ac:11:0:2": ${format}`],
    ["02:42:ac:11:00:0g", `invalid MAC address "02:42:ac:11:00:0g": ${format}`],
    ["01:00:5e:00:00:01", 'invalid MAC address "01:00:5e:00:00:01": the multicast bit is set; a container needs a unicast address (Cannot assign requested address)'],
    ["ff:ff:ff:ff:ff:ff", 'invalid MAC address "ff:ff:ff:ff:ff:ff": the multicast bit is set; a container needs a unicast address (Cannot assign requested address)'],
    ["33:33:00:00:00:01", 'invalid MAC address "33:33:00:00:00:01": the multicast bit is set; a container needs a unicast address (Cannot assign requested address)'],
    ["00:00:00:00:00:00", 'invalid MAC address "00:00:00:00:00:00": the all-zero address cannot be assigned (Cannot assign requested address)'],
  ])("rejects %p", (input, message) => {
    expect(usageError(() => validateMAC(input)).message).toBe(message);
  });
});

describe("parseSubnet", () => {
  test.each([
    ["10.88.0.0/16", "10.88.0.0/16"],
    ["10.0.2.0/24", "10.0.2.0/24"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["10.1.2.3/32", "10.1.2.3/32"],
    ["fd00:0::/64", "fd00::/64"],
    ["::/0", "::/0"],
  ])("parses %p", (input, canonical) => {
    expect(formatCidr(parseSubnet(input))).toBe(canonical);
  });

  const format = "expected an address and a prefix length like 10.88.0.0/16";
  test.each([
    ["10.88.0.0", `invalid subnet "10.88.0.0": ${format}`],
    ["10.88.0.0/", `invalid subnet "10.88.0.0/": ${format}`],
    ["10.88.0.0/33", `invalid subnet "10.88.0.0/33": ${format}`],
    ["fd00::/129", `invalid subnet "fd00::/129": ${format}`],
    ["10.88.0.0/016", `invalid subnet "10.88.0.0/016": ${format}`],
    ["10.88.0.0/-1", `invalid subnet "10.88.0.0/-1": ${format}`],
    ["x/8", `invalid subnet "x/8": ${format}`],
    ["10.88.0.1/16", 'invalid subnet "10.88.0.1/16": host bits are set (the network is 10.88.0.0/16)'],
    ["10.0.2.100/24", 'invalid subnet "10.0.2.100/24": host bits are set (the network is 10.0.2.0/24)'],
    ["10.0.2.3/31", 'invalid subnet "10.0.2.3/31": host bits are set (the network is 10.0.2.2/31)'],
    ["fd00::1/64", 'invalid subnet "fd00::1/64": host bits are set (the network is fd00::/64)'],
  ])("rejects %p", (input, message) => {
    expect(usageError(() => parseSubnet(input)).message).toBe(message);
  });

  test("names what the subnet is for", () => {
    expect(usageError(() => parseSubnet("10.0.2.0", "slirp4netns cidr")).message).toBe(
      `invalid slirp4netns cidr "10.0.2.0": ${format}`,
    );
  });
});

describe("subnet arithmetic", () => {
  test.each([
    ["10.88.0.0/16", "10.88.0.1", true],
    ["10.88.0.0/16", "10.88.255.255", true],
    ["10.88.0.0/16", "10.89.0.0", false],
    ["10.88.0.0/16", "10.87.255.255", false],
    ["10.88.0.0/17", "10.88.127.255", true],
    ["10.88.0.0/17", "10.88.128.0", false],
    ["0.0.0.0/0", "203.0.113.9", true],
    ["10.1.2.3/32", "10.1.2.3", true],
    ["10.1.2.3/32", "10.1.2.4", false],
    ["fd00::/64", "fd00::ffff:1", true],
    ["fd00::/64", "fd00:0:0:1::1", false],
    ["::/0", "10.0.0.1", false],
    ["10.0.0.0/8", "::ffff:10.0.0.1", false],
  ])("%p contains %p: %p", (subnet, addr, expected) => {
    expect(subnetContains(parseSubnet(subnet), ip(addr))).toBe(expected);
  });

  test.each([
    ["10.88.0.0/16", "10.88.0.0/16", true],
    ["10.88.0.0/16", "10.88.5.0/24", true],
    ["10.88.5.0/24", "10.88.0.0/16", true],
    ["10.88.0.0/16", "10.89.0.0/16", false],
    ["10.88.0.0/24", "10.88.1.0/24", false],
    ["10.0.0.0/8", "0.0.0.0/0", true],
    ["10.0.2.0/31", "10.0.2.2/31", false],
    ["fd00::/48", "fd00:0:0:1::/64", true],
    ["fd00::/64", "fd01::/64", false],
    ["0.0.0.0/0", "::/0", false],
  ])("%p overlaps %p: %p", (a, b, expected) => {
    expect(subnetsOverlap(parseSubnet(a), parseSubnet(b))).toBe(expected);
  });

  test.each([
    ["10.88.0.0/16", "10.88.0.1", "10.88.255.254"],
    ["10.0.2.0/24", "10.0.2.1", "10.0.2.254"],
    ["10.0.2.0/30", "10.0.2.1", "10.0.2.2"],
    ["10.0.2.0/31", "10.0.2.0", "10.0.2.1"],
    ["10.0.2.7/32", "10.0.2.7", "10.0.2.7"],
    ["fd00::/64", "fd00::1", "fd00::ffff:ffff:ffff:ffff"],
    ["fd00::/127", "fd00::", "fd00::1"],
    ["fd00::5/128", "fd00::5", "fd00::5"],
    ["::/0", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ])("%p: hosts %p to %p", (subnet, first, last) => {
    expect(formatIP(firstHost(parseSubnet(subnet)))).toBe(first);
    expect(formatIP(lastHost(parseSubnet(subnet)))).toBe(last);
  });

  test.each([
    ["10.0.2.0/24", 2, "10.0.2.2"],
    ["10.0.2.0/24", 3, "10.0.2.3"],
    ["10.0.2.0/24", 100, "10.0.2.100"],
    ["10.0.2.0/24", 254, "10.0.2.254"],
    ["10.88.0.0/16", 256, "10.88.1.0"],
    ["10.88.0.0/16", 65534, "10.88.255.254"],
    ["fd00::/64", 3, "fd00::3"],
    ["fd00::/64", 65536, "fd00::1:0"],
  ])("%p + %p = %p", (subnet, n, expected) => {
    expect(formatIP(nthHost(parseSubnet(subnet), n))).toBe(expected);
  });

  test.each([
    ["10.0.2.0/24", 0, "subnet 10.0.2.0/24 has no host +0 (usable hosts are +1 to +254)"],
    ["10.0.2.0/24", 255, "subnet 10.0.2.0/24 has no host +255 (usable hosts are +1 to +254)"],
    ["10.0.2.0/30", 100, "subnet 10.0.2.0/30 has no host +100 (usable hosts are +1 to +2)"],
    ["10.0.2.0/24", -1, "subnet 10.0.2.0/24 has no host -1 (usable hosts are +1 to +254)"],
    ["10.0.2.0/24", 1.5, "subnet 10.0.2.0/24 has no host +1.5 (usable hosts are +1 to +254)"],
    ["10.0.2.7/32", 1, "subnet 10.0.2.7/32 has no host +1 (usable hosts are +0 to +0)"],
  ])("%p has no host %p", (subnet, n, message) => {
    expect(usageError(() => nthHost(parseSubnet(subnet), n)).message).toBe(message);
  });
});

describe("parseNetworkSubnet", () => {
  test.each([
    ["10.50.0.9/24", "10.50.0.0/24"],
    ["fd20::5/64", "fd20::/64"],
    ["10.0.0.0/30", "10.0.0.0/30"],
    ["fd00::/126", "fd00::/126"],
  ])("%p is the network %p, host bits cleared as podman does", (input, network) => {
    expect(formatCidr(parseNetworkSubnet(input))).toBe(network);
  });

  test.each([
    ["banana", 'invalid subnet "banana": invalid CIDR address: banana (expected an address and a prefix length'],
    ["10.0.0.0/31", 'invalid subnet "10.0.0.0/31": a /31 leaves no room for a gateway and a container (use /30 or shorter)'],
    ["10.0.0.1/32", "a /32 leaves no room"],
    ["::/0", "it covers every address"],
    ["239.1.0.0/16", "the multicast range 224.0.0.0/4"],
    ["127.0.0.0/24", "the loopback range 127.0.0.0/8"],
    ["169.254.0.0/16", "the link-local range 169.254.0.0/16"],
    ["255.255.255.0/24", "the reserved range 240.0.0.0/4"],
    ["fe80::/64", "the link-local range fe80::/10"],
  ])("%p is refused: %p", (input, message) => {
    expect(usageError(() => parseNetworkSubnet(input)).message).toContain(message);
  });
});

describe("reservedAddressProblem", () => {
  test.each([
    ["10.0.2.0/24", "10.0.2.0", "is the network address of 10.0.2.0/24"],
    ["10.0.2.0/24", "10.0.2.255", "is the broadcast address of 10.0.2.0/24"],
    ["10.0.2.0/24", "10.0.2.1", null],
    ["10.0.2.0/24", "10.0.2.254", null],
    ["10.0.2.0/24", "10.0.3.0", null],
    ["fd00::/64", "fd00::", "is the network address of fd00::/64"],
    ["fd00::/64", "fd00::ffff:ffff:ffff:ffff", null],
    ["10.0.2.0/31", "10.0.2.0", null],
  ])("in %p, %p: %p", (subnet, ip, problem) => {
    expect(reservedAddressProblem(parseSubnet(subnet), parseIP(ip)!)).toBe(problem);
  });
});

describe("stored address schemas", () => {
  const schemas = { IPAddress, MACAddress };
  test.each([
    ["IPAddress", "10.88.0.5", true],
    ["IPAddress", "fd00::1", true],
    ["IPAddress", "FD00::1", false],
    ["IPAddress", "fd00:0::1", false],
    ["IPAddress", "10.88.0", false],
    ["IPAddress", 5, false],
    ["MACAddress", "02:42:ac:11:00:02", true],
    ["MACAddress", "02:42:AC:11:00:02", false],
    ["MACAddress", "02:42:ac:11:00", false],
  ] as const)("%s accepts %p: %p", (schema, input, ok) => {
    expect(v.safeParse(schemas[schema], input).success).toBe(ok);
  });
});
