import { describe, expect, test } from "bun:test";
import { slirp4netnsAddresses } from "../../src/drivers/slirp4netns/addresses.ts";
import { parseSlirp4netnsOptions } from "../../src/drivers/slirp4netns/options.ts";
import { UsageError } from "../../src/errors.ts";

const host = { interfaceExists: (name: string) => name === "eth0" };
const parse = (...list: string[]) => parseSlirp4netnsOptions(list, host);

function usageError(list: string[]): UsageError {
  try {
    parse(...list);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return err as UsageError;
  }
  throw new Error(`no error for ${JSON.stringify(list)}`);
}

describe("parseSlirp4netnsOptions", () => {
  test("no options: podman's defaults", () => {
    expect(parse()).toEqual({ portHandler: "rootlesskit", allowHostLoopback: false, enableIPv6: false });
  });

  test("every option", () => {
    expect(
      parse(
        "cidr=10.42.7.0/24",
        "port_handler=slirp4netns",
        "allow_host_loopback=true",
        "enable_ipv6=true",
        "outbound_addr=192.0.2.7",
        "outbound_addr6=2001:db8::7",
        "mtu=1500",
      ),
    ).toEqual({
      cidr: "10.42.7.0/24",
      portHandler: "slirp4netns",
      allowHostLoopback: true,
      enableIPv6: true,
      outboundAddr: "192.0.2.7",
      outboundAddr6: "2001:db8::7",
      mtu: 1500,
    });
  });

  test("a later value overrides an earlier one", () => {
    const o = parse("port_handler=slirp4netns", "port_handler=rootlesskit", "allow_host_loopback=true", "allow_host_loopback=false");
    expect(o.portHandler).toBe("rootlesskit");
    expect(o.allowHostLoopback).toBe(false);
  });

  test("a value may contain '='; only the first one splits", () => {
    expect(usageError(["cidr=10.0.2.0/24=x"]).message).toBe('invalid cidr "10.0.2.0/24=x"');
  });

  test("outbound addresses may name an interface that exists", () => {
    expect(parse("outbound_addr=eth0").outboundAddr).toBe("eth0");
    expect(parse("enable_ipv6=true", "outbound_addr6=eth0").outboundAddr6).toBe("eth0");
  });

  test("mtu bounds: 68 (IPv4's minimum) to 65521 (slirp4netns's maximum); Atoi's sign is allowed", () => {
    expect(parse("mtu=68").mtu).toBe(68);
    expect(parse("mtu=65521").mtu).toBe(65521);
    expect(parse("mtu=+1500").mtu).toBe(1500);
  });

  test.each([
    [["foo"], 'unknown option for slirp4netns: "foo"'],
    [[""], 'unknown option for slirp4netns: ""'],
    [["foo=bar"], 'unknown option for slirp4netns: "foo=bar"'],
    [["cidr"], 'unknown option for slirp4netns: "cidr"'],
    [["cidr=x"], 'invalid cidr "x"'],
    [["cidr=10.0.2.0"], 'invalid cidr "10.0.2.0"'],
    [["cidr=10.0.2.0/33"], 'invalid cidr "10.0.2.0/33"'],
    [["cidr=fd00::/64"], 'invalid cidr "fd00::/64"'],
    [["cidr=10.0.2.0/26"], 'invalid cidr "10.0.2.0/26": the prefix length must be 1-25'],
    [["cidr=0.0.0.0/0"], 'invalid cidr "0.0.0.0/0": the prefix length must be 1-25'],
    [["cidr=10.0.2.5/24"], 'invalid cidr "10.0.2.5/24": it must be a network address, with the host bits zero'],
    [["port_handler=foo"], 'unknown port_handler for slirp4netns: "foo"'],
    [["port_handler="], 'unknown port_handler for slirp4netns: ""'],
    [["allow_host_loopback=yes"], 'invalid value of allow_host_loopback for slirp4netns: "yes"'],
    [["allow_host_loopback=True"], 'invalid value of allow_host_loopback for slirp4netns: "True"'],
    [["enable_ipv6=1"], 'invalid value of enable_ipv6 for slirp4netns: "1"'],
    [["outbound_addr=eth9"], 'invalid outbound_addr "eth9": it is not a valid IPv4 address or the name of an existing interface'],
    [["outbound_addr=2001:db8::1"], 'invalid outbound_addr "2001:db8::1": it is not a valid IPv4 address or the name of an existing interface'],
    [["outbound_addr=010.0.0.1"], 'invalid outbound_addr "010.0.0.1": it is not a valid IPv4 address or the name of an existing interface'],
    [["enable_ipv6=true", "outbound_addr6=192.0.2.1"], 'invalid outbound_addr6: "192.0.2.1": it is not a valid IPv6 address or the name of an existing interface'],
    [["enable_ipv6=true", "outbound_addr6=::ffff:192.0.2.1"], 'invalid outbound_addr6: "::ffff:192.0.2.1": it is not a valid IPv6 address or the name of an existing interface'],
    [["enable_ipv6=true", "outbound_addr6=fe80::1%eth0"], 'invalid outbound_addr6: "fe80::1%eth0": it is not a valid IPv6 address or the name of an existing interface'],
    [["outbound_addr6=2001:db8::1"], "enable_ipv6=true is required for outbound_addr6"],
    [["outbound_addr6=eth0", "enable_ipv6=false"], "enable_ipv6=true is required for outbound_addr6"],
    [["mtu=x"], 'invalid mtu "x"'],
    [["mtu="], 'invalid mtu ""'],
    [["mtu=67"], 'invalid mtu "67"'],
    [["mtu=-1"], 'invalid mtu "-1"'],
    [["mtu=65522"], 'invalid mtu "65522"'],
    [["mtu=1500.5"], 'invalid mtu "1500.5"'],
    [["mtu= 1500"], 'invalid mtu " 1500"'],
  ])("%j: %s", (list, message) => {
    expect(usageError(list).message).toBe(message);
  });

  test("enable_ipv6 may come after outbound_addr6", () => {
    expect(parse("outbound_addr6=2001:db8::1", "enable_ipv6=true").outboundAddr6).toBe("2001:db8::1");
  });
});

describe("slirp4netnsAddresses", () => {
  test("default network 10.0.2.0/24", () => {
    expect(slirp4netnsAddresses()).toEqual({ ip: "10.0.2.100", prefixLength: 24, gateway: "10.0.2.2", dns: "10.0.2.3" });
  });

  test("offsets carry across octets", () => {
    expect(slirp4netnsAddresses("10.42.7.0/24")).toEqual({ ip: "10.42.7.100", prefixLength: 24, gateway: "10.42.7.2", dns: "10.42.7.3" });
    expect(slirp4netnsAddresses("172.16.0.0/12")).toEqual({ ip: "172.16.0.100", prefixLength: 12, gateway: "172.16.0.2", dns: "172.16.0.3" });
    expect(slirp4netnsAddresses("192.168.1.128/25").ip).toBe("192.168.1.228");
  });
});
