import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Slirp4netnsArgsInput, slirp4netnsArgs } from "../../src/drivers/slirp4netns/argv.ts";
import { parseSlirp4netnsHelp, type Slirp4netnsFeatures } from "../../src/drivers/slirp4netns/features.ts";
import { defaultSlirp4netnsOptions, parseSlirp4netnsOptions } from "../../src/drivers/slirp4netns/options.ts";
import { CtrnetError, UsageError } from "../../src/errors.ts";

const fixture = (name: string) => readFileSync(join(import.meta.dir, "../fixtures/slirp4netns", name), "utf8");
const CURRENT = parseSlirp4netnsHelp(fixture("help-1.2.0.txt"));
const MINIMAL = parseSlirp4netnsHelp(fixture("help-minimal.txt"));
const options = (...list: string[]) => parseSlirp4netnsOptions(list, { interfaceExists: () => true });

function input(over: Partial<Slirp4netnsArgsInput> = {}): Slirp4netnsArgsInput {
  return {
    binary: "/usr/bin/slirp4netns",
    features: CURRENT,
    options: defaultSlirp4netnsOptions(),
    target: { netnsPath: "/run/netns/ns1" },
    tapName: "tap0",
    exitFd: 3,
    readyFd: 4,
    sandbox: true,
    ...over,
  };
}

function only(...keys: (keyof Slirp4netnsFeatures)[]): Slirp4netnsFeatures {
  const out = { ...MINIMAL };
  for (const k of keys) out[k] = true;
  return out;
}

describe("parseSlirp4netnsHelp", () => {
  test("slirp4netns 1.2.0 has every feature", () => {
    expect(CURRENT).toEqual({
      disableHostLoopback: true,
      mtu: true,
      enableSandbox: true,
      enableSeccomp: true,
      cidr: true,
      outboundAddr: true,
      outboundAddr6: true,
      enableIPv6: true,
      netnsType: true,
      apiSocket: true,
    });
  });

  test("a minimal slirp4netns has none", () => {
    expect(Object.values(MINIMAL).every((v) => v === false)).toBe(true);
  });

  test("flags are whole words: --outbound-addr6 does not imply --outbound-addr", () => {
    const f = parseSlirp4netnsHelp("--outbound-addr6=IPv6    sets outbound ipv6 address\n--mtu-probe  not mtu\n");
    expect(f.outboundAddr6).toBe(true);
    expect(f.outboundAddr).toBe(false);
    expect(f.mtu).toBe(false);
  });

  test("short-and-long and tab-separated forms", () => {
    const f = parseSlirp4netnsHelp("-m, --mtu=MTU  x\n--netns-type=TYPE \t y\n-a, --api-socket=PATH\n");
    expect(f.mtu && f.netnsType && f.apiSocket).toBe(true);
  });
});

describe("slirp4netnsArgs", () => {
  test("defaults: podman's command line, with exit and ready descriptors", () => {
    expect(slirp4netnsArgs(input())).toEqual({
      args: [
        "--disable-host-loopback",
        "--mtu=65520",
        "--enable-sandbox",
        "--enable-seccomp",
        "-c",
        "-e",
        "3",
        "-r",
        "4",
        "--netns-type=path",
        "/run/netns/ns1",
        "tap0",
      ],
      sandboxed: true,
    });
  });

  test("every option, in the seed's order", () => {
    const o = options(
      "cidr=10.42.7.0/24",
      "port_handler=slirp4netns",
      "allow_host_loopback=true",
      "enable_ipv6=true",
      "outbound_addr=192.0.2.7",
      "outbound_addr6=2001:db8::7",
      "mtu=9000",
    );
    expect(slirp4netnsArgs(input({ options: o, apiSocket: "/run/ctrnet/c1.net", tapName: "eth7" })).args).toEqual([
      "--mtu=9000",
      "--enable-sandbox",
      "--enable-seccomp",
      "--cidr=10.42.7.0/24",
      "--enable-ipv6",
      "--outbound-addr=192.0.2.7",
      "--outbound-addr6=2001:db8::7",
      "--api-socket",
      "/run/ctrnet/c1.net",
      "-c",
      "-e",
      "3",
      "-r",
      "4",
      "--netns-type=path",
      "/run/netns/ns1",
      "eth7",
    ]);
  });

  test("shared rootless netns: no exit descriptor, ready on 3", () => {
    const { args } = slirp4netnsArgs(input({ exitFd: undefined, readyFd: 3 }));
    expect(args.slice(-6)).toEqual(["-c", "-r", "3", "--netns-type=path", "/run/netns/ns1", "tap0"]);
    expect(args).not.toContain("-e");
  });

  test("a pid target is passed bare, which even a slirp4netns without --netns-type takes", () => {
    const { args } = slirp4netnsArgs(input({ target: { pid: 4242 }, features: only("disableHostLoopback") }));
    expect(args).toEqual(["--disable-host-loopback", "-c", "-e", "3", "-r", "4", "4242", "tap0"]);
  });

  test("sandbox: false leaves out --enable-sandbox (podman's no_pivot_root)", () => {
    const cmd = slirp4netnsArgs(input({ sandbox: false }));
    expect(cmd.sandboxed).toBe(false);
    expect(cmd.args).not.toContain("--enable-sandbox");
  });

  test("features the user did not ask for are left out when missing", () => {
    const cmd = slirp4netnsArgs(input({ features: only("disableHostLoopback", "netnsType") }));
    expect(cmd).toEqual({
      args: ["--disable-host-loopback", "-c", "-e", "3", "-r", "4", "--netns-type=path", "/run/netns/ns1", "tap0"],
      sandboxed: false,
    });
  });

  const refusals: [string, Partial<Slirp4netnsArgsInput>, string][] = [
    ["cidr", { options: options("cidr=10.42.7.0/24"), features: only("disableHostLoopback", "netnsType") }, "cidr not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --cidr)"],
    ["mtu", { options: options("mtu=1500"), features: only("disableHostLoopback", "netnsType") }, "mtu not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --mtu)"],
    ["enable_ipv6", { options: options("enable_ipv6=true"), features: only("disableHostLoopback", "netnsType") }, "enable_ipv6 not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --enable-ipv6)"],
    ["outbound_addr", { options: options("outbound_addr=192.0.2.1"), features: only("disableHostLoopback", "netnsType") }, "outbound_addr not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --outbound-addr)"],
    ["outbound_addr6", { options: options("enable_ipv6=true", "outbound_addr6=2001:db8::1"), features: only("disableHostLoopback", "netnsType", "enableIPv6", "outboundAddr") }, "outbound_addr6 not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --outbound-addr6)"],
    ["api socket", { apiSocket: "/run/a.sock", features: only("disableHostLoopback", "netnsType") }, "port_handler=slirp4netns not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --api-socket)"],
    ["netns path", { features: only("disableHostLoopback") }, "joining a network namespace by path not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --netns-type)"],
    ["host loopback", { features: only("netnsType") }, "allow_host_loopback=false not supported by this version of slirp4netns (/usr/bin/slirp4netns has no --disable-host-loopback); upgrade slirp4netns or set allow_host_loopback=true"],
  ];
  test.each(refusals)("refuses %s when slirp4netns lacks it", (_what, over, message) => {
    expect(() => slirp4netnsArgs(input(over))).toThrow(CtrnetError);
    expect(() => slirp4netnsArgs(input(over))).toThrow(new Error(message));
  });

  test("allow_host_loopback=true runs even without --disable-host-loopback", () => {
    const { args } = slirp4netnsArgs(input({ options: options("allow_host_loopback=true"), features: only("netnsType") }));
    expect(args).toEqual(["-c", "-e", "3", "-r", "4", "--netns-type=path", "/run/netns/ns1", "tap0"]);
  });

  test.each(["", "a".repeat(16), "tap/0", "tap 0", "..", "a:b"])("refuses tap name %j", (tapName) => {
    expect(() => slirp4netnsArgs(input({ tapName }))).toThrow(UsageError);
  });
});
