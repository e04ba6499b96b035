import { describe, expect, test } from "bun:test";
import { parseArgs } from "citty";
import { contextOptions, createRequestOf, containerArgs, readAsCsv, repeatedValues, runtimeArgs } from "../../src/cli/args.ts";
import { configuredPastaOptions, formatNetworkMode, parseNetworkMode } from "../../src/lifecycle/mode.ts";
import { parsePortQuery, portLines } from "../../src/lifecycle/inspect.ts";
import { parsePortSpecs } from "../../src/schema/ports.ts";

describe("parseNetworkMode", () => {
  test.each([
    [undefined, { mode: { kind: "bridge" }, networks: [], defaultNetwork: true, configures: true }],
    ["bridge", { mode: { kind: "bridge" }, networks: [], defaultNetwork: true, configures: true }],
    // podman's `default` and `private`: the mode with no --network (bridge for root)
    ["default", { mode: { kind: "bridge" }, networks: [], defaultNetwork: true, configures: true }],
    ["private", { mode: { kind: "bridge" }, networks: [], defaultNetwork: true, configures: true }],
    ["a,b", { mode: { kind: "bridge" }, networks: ["a", "b"], defaultNetwork: false, configures: true }],
    ["none", { mode: { kind: "none" }, networks: [], defaultNetwork: false, configures: true }],
    ["host", { mode: { kind: "host" }, networks: [], defaultNetwork: false, configures: false }],
    ["ns:/run/netns/x", { mode: { kind: "ns", path: "/run/netns/x" }, networks: [], defaultNetwork: false, configures: false, joins: "/run/netns/x" }],
    ["container:abc", { mode: { kind: "container", id: "abc" }, networks: [], defaultNetwork: false, configures: false }],
    ["slirp4netns", { mode: { kind: "slirp4netns", options: [] }, networks: [], defaultNetwork: false, configures: true }],
    ["slirp4netns:cidr=10.42.0.0/24,mtu=1500", { mode: { kind: "slirp4netns", options: ["cidr=10.42.0.0/24", "mtu=1500"] }, networks: [], defaultNetwork: false, configures: true }],
  ])("%s", (value, expected) => {
    expect(parseNetworkMode(value)).toEqual(expected as never);
  });

  test.each([
    ["ns:relative", "absolute path"],
    ["container:", "container id"],
    ["a,,b", "empty network name"],
    ["a,a", "given twice"],
    ["a,host", "cannot be combined"],
    ["default,a", "cannot be combined"],
    ["bad/name", "Invalid characters in network name"],
    ["slirp4netns:", 'unknown option for slirp4netns: ""'],
    ["slirp4netns:port_handler=x", 'unknown port_handler for slirp4netns: "x"'],
  ])("rejects %s", (value, message) => {
    expect(() => parseNetworkMode(value)).toThrow(message);
  });

  test("podman's default and private are a rootless user's default mode too", () => {
    expect(parseNetworkMode("default", true)).toEqual(parseNetworkMode(undefined, true));
    expect(parseNetworkMode("private", true).mode.kind).toBe(parseNetworkMode(undefined, true).mode.kind);
  });

  test("CTRNET_PASTA_OPTIONS, podman's pasta_options: comma-separated, before a container's own", () => {
    expect(configuredPastaOptions({})).toEqual([]);
    expect(configuredPastaOptions({ CTRNET_PASTA_OPTIONS: "-I,myname,,--map-gw" })).toEqual(["-I", "myname", "--map-gw"]);
    const saved = process.env.CTRNET_PASTA_OPTIONS;
    process.env.CTRNET_PASTA_OPTIONS = "-I,myname";
    try {
      expect(parseNetworkMode("pasta:-a,10.0.2.5").mode).toEqual({ kind: "pasta", options: ["-I", "myname", "-a", "10.0.2.5"] });
      expect(parseNetworkMode("pasta").mode).toEqual({ kind: "pasta", options: ["-I", "myname"] });
    } finally {
      if (saved === undefined) delete process.env.CTRNET_PASTA_OPTIONS;
      else process.env.CTRNET_PASTA_OPTIONS = saved;
    }
  });

  test("formats back as podman's NetworkMode", () => {
    for (const value of ["bridge", "none", "host", "ns:/x", "container:c", "slirp4netns", "slirp4netns:mtu=1500"]) {
      expect(formatNetworkMode(parseNetworkMode(value).mode)).toBe(value);
    }
  });

  test("the default is bridge for root and slirp4netns for a rootless user, as podman", () => {
    expect(parseNetworkMode(undefined, false).mode).toEqual({ kind: "bridge" });
    expect(parseNetworkMode(undefined, true).mode).toEqual({ kind: "slirp4netns", options: [] });
    expect(parseNetworkMode("bridge", true).mode).toEqual({ kind: "bridge" });
  });
});

describe("container options", () => {
  test("repeated -p/--publish and --alias are all kept, in order, up to --", () => {
    const raw = ["-p", "1:1", "--name", "-p", "--publish", "2:2", "-p=3:3", "--publish=4:4", "--alias", "a", "id", "--", "-p", "9"];
    expect(repeatedValues(raw, containerArgs, "publish")).toEqual(["1:1", "2:2", "3:3", "4:4"]);
    expect(repeatedValues(raw, containerArgs, "alias")).toEqual(["a"]);
  });

  test("createRequestOf reads citty's values and the raw arguments", () => {
    const raw = ["--name", "n", "--network", "a", "-p", "80", "--publish", "81", "--ip", "10.0.0.2", "--pid", "42", "--alias", "x", "--alias", "y"];
    expect(createRequestOf({ name: "n", network: "a", ip: "10.0.0.2", pid: "42", publish: ["80", "81"] }, raw)).toEqual({
      name: "n",
      network: "a",
      ports: ["80", "81"],
      ip: "10.0.0.2",
      aliases: ["x", "y"],
      netns: { kind: "adopt", pid: 42, keep: "mount" },
    });
    expect(createRequestOf({ netns: "/run/netns/x" })).toEqual({ netns: { kind: "join", path: "/run/netns/x" } });
    expect(() => createRequestOf({ netns: "/run/netns/x", pid: "42" })).toThrow("--netns and --pid cannot be used together");
    expect(() => createRequestOf({ pid: "abc" })).toThrow('invalid --pid "abc"');
    expect(() => createRequestOf({ name: ["a", "b"] })).toThrow("only once");
  });

  test("citty's parsed values, a Proxy, read as a plain copy: aliases, --no-hosts and the directory options stay", () => {
    const raw = ["--net", "a", "-P", "--no-hosts", "--hostname", "h", "--ip=10.0.0.2", "--root", "/r", "--cni-plugin-dir", "/p:/q", "id"];
    const parsed = parseArgs(raw, { ...runtimeArgs, ...containerArgs, id: { type: "positional" } } as const) as Record<string, string | undefined>;
    expect(createRequestOf(parsed, raw)).toEqual({ network: "a", publishAll: true, ip: "10.0.0.2", etc: { noHosts: true, hostname: "h" } });
    expect(contextOptions(parsed)).toEqual({ root: "/r", netnsDir: undefined, cniConfigDir: undefined, cniPluginDirs: ["/p", "/q"], cniCacheDir: undefined });
  });
});

describe("podman's spellings of the container options", () => {
  test("--expose is repeatable, -P/--publish-all a flag", () => {
    expect(createRequestOf({ "publish-all": true }, ["-P", "--expose", "90", "--expose=100-101/udp"])).toEqual({ expose: ["90", "100-101/udp"], publishAll: true });
    expect(createRequestOf({}, ["--expose", "90"])).toEqual({ expose: ["90"] });
    // podman's string slice: comma-separated values are several
    expect(createRequestOf({}, ["--expose", "90/tcp,91-92/udp"])).toEqual({ expose: ["90/tcp", "91-92/udp"] });
  });

  test("podman's string slices (-p, --expose, --dns, --dns-search, --dns-option, --add-host, --network-alias) read each value as CSV: an empty one adds nothing", () => {
    // 505-networking-pasta.bats passes -p "" when pasta's own --tcp-ports does the forwarding
    expect(createRequestOf({}, ["-p", "", "--network", "pasta:-T,5432"])).toEqual({ network: "pasta:-T,5432" });
    expect(createRequestOf({}, ["-p", "8080:80,127.0.0.1:53:53/udp", "--publish=", "-p", "9090:90"]).ports).toEqual(["8080:80", "127.0.0.1:53:53/udp", "9090:90"]);
    expect(createRequestOf({}, ["--expose", ""])).toEqual({});
    expect(createRequestOf({}, ["--network-alias", "a,b", "--alias", ""]).aliases).toEqual(["a", "b"]);
    expect(createRequestOf({}, ["--dns", "10.0.0.1,10.0.0.2", "--dns-search", "a.example,b.example", "--dns-option", "ndots:2,edns0", "--add-host", "x:10.0.0.9,y:10.0.0.8"]).etc).toMatchObject({
      dns: ["10.0.0.1", "10.0.0.2"],
      dnsSearch: ["a.example", "b.example"],
      dnsOptions: ["ndots:2", "edns0"],
      addHosts: [{ name: "x", address: "10.0.0.9" }, { name: "y", address: "10.0.0.8" }],
    });
    expect(createRequestOf({}, ["--dns", "", "--network", "none"])).toEqual({ network: "none" });
  });

  test("--network NAME:ip=…,ip=…: every address in order, either key, either family (podman's StaticIPs)", () => {
    expect(createRequestOf({}, ["--network", "n:ip=10.1.0.12,ip=fd00::5,ip=10.1.0.10,ip6=fd00::7,ip=10.2.0.3"])).toEqual({
      network: "n",
      networkOptions: [{ ips: ["10.1.0.12", "fd00::5", "10.1.0.10", "fd00::7", "10.2.0.3"] }],
    });
    expect(createRequestOf({}, ["--network", "n:ip=fd00::5,ip=fd00::6"])).toEqual({ network: "n", networkOptions: [{ ips: ["fd00::5", "fd00::6"] }] });
    expect(() => createRequestOf({}, ["--network", "n:ip=10.1.0.300"])).toThrow('invalid option for network n: invalid ip address "10.1.0.300"');
  });

  test("the dns options' conflict with none and container: is podman's first check, before any value is read", () => {
    expect(() => createRequestOf({}, ["--dns-opt", "1.2.3.4", "--network", "container:x"])).toThrow("conflicting options: dns and the network mode: container");
    expect(() => createRequestOf({}, ["--dns", "not-an-ip", "--network", "none"])).toThrow("conflicting options: dns and the network mode: none");
    // any word is an option, as podman's; only a blank would break resolv.conf's line
    expect(createRequestOf({}, ["--dns-option", "debug,1.2.3.4,use-vc"]).etc).toEqual({ dnsOptions: ["debug", "1.2.3.4", "use-vc"] });
  });

  test("readAsCsv reads one line of CSV as Go's encoding/csv (pflag's readAsCSV)", () => {
    expect(readAsCsv("")).toEqual([]);
    expect(readAsCsv("a")).toEqual(["a"]);
    expect(readAsCsv("a,,b,")).toEqual(["a", "", "b", ""]);
    expect(readAsCsv('"a,b",c')).toEqual(["a,b", "c"]);
    expect(readAsCsv('"say ""hi"""')).toEqual(['say "hi"']);
    expect(() => readAsCsv('a"b')).toThrow('parse error on line 1, column 2: bare " in non-quoted-field');
    expect(() => readAsCsv('"ab')).toThrow('parse error on line 1, column 1: extraneous or missing " in quoted-field');
  });

  test("--network-alias is --alias (repeatable, mixed), --ip6 a static IPv6 address", () => {
    expect(createRequestOf({}, ["--network-alias", "a", "--alias=b", "--network-alias=c"]).aliases).toEqual(["a", "b", "c"]);
    expect(createRequestOf({ ip6: "fd00::5" }).ip).toBe("fd00::5");
    expect(() => createRequestOf({ ip6: "10.0.0.5" })).toThrow('invalid --ip6 "10.0.0.5": expected an IPv6 address');
    // no address at all: podman's netflags words, --ip first
    expect(() => createRequestOf({ ip6: "nope" })).toThrow('"nope" is not an ip address');
    expect(() => createRequestOf({ ip: "bad", ip6: "nope" })).toThrow('"bad" is not an ip address');
    // both, one of each family (podman's --ip with --ip6 on a dual-stack network)
    expect(createRequestOf({ ip: "10.0.0.5", ip6: "fd00::5" })).toEqual({ ip: "10.0.0.5", ip6: "fd00::5" });
    expect(createRequestOf({}, ["--network", "a:ip=10.0.0.5,ip6=fd00::5"])).toEqual({ network: "a", networkOptions: [{ ips: ["10.0.0.5", "fd00::5"] }] });
    expect(() => createRequestOf({ ip: "fd00::4", ip6: "fd00::5" })).toThrow("--ip fd00::4 and --ip6 fd00::5 are both IPv6: give --ip an IPv4 address");
  });

  test("--network given again adds a network; NAME:ip=…,mac=…,alias=…,interface_name=… sets that network's, as podman's", () => {
    expect(createRequestOf({}, ["--network", "a", "--net", "b", "--network=c"]).network).toBe("a,b,c");
    expect(createRequestOf({}, ["--network", "bridge", "--network", "b"]).network).toBe("ctrnet,b");
    expect(createRequestOf({}, ["--network", "a:ip=10.0.0.5,mac=92:d0:c6:0a:29:33,alias=x,alias=y", "--alias", "z"])).toEqual({
      network: "a",
      aliases: ["z"],
      networkOptions: [{ ips: ["10.0.0.5"], mac: "92:d0:c6:0a:29:33", aliases: ["x", "y"] }],
    });
    expect(createRequestOf({}, ["--network", "a:ip6=fd00::7"])).toEqual({ network: "a", networkOptions: [{ ips: ["fd00::7"] }] });
    // modes keep their own option syntax
    expect(createRequestOf({}, ["--network", "slirp4netns:mtu=1500"]).network).toBe("slirp4netns:mtu=1500");
    expect(createRequestOf({}, ["--network", "container:web"]).network).toBe("container:web");
    expect(() => createRequestOf({}, ["--network", "none", "--network", "b"])).toThrow("cannot set multiple networks without bridge network mode, selected mode none");
    expect(() => createRequestOf({}, ["--network", "a", "--network", "host"])).toThrow("can only set extra network names, selected mode host conflicts with bridge");
    // each network's own, on any of them
    expect(createRequestOf({}, ["--network", "a", "--network", "b:ip=10.0.0.9,mac=92:d0:c6:0a:29:34,alias=q"])).toEqual({
      network: "a,b",
      networkOptions: [{}, { ips: ["10.0.0.9"], mac: "92:d0:c6:0a:29:34", aliases: ["q"] }],
    });
    expect(createRequestOf({}, ["--network", "bridge:ip=10.89.0.9", "--network", "b:ip=10.0.0.9"])).toEqual({ network: "ctrnet,b", networkOptions: [{ ips: ["10.89.0.9"] }, { ips: ["10.0.0.9"] }] });
    expect(createRequestOf({}, ["--network", "a,b", "--network", "c:ip=10.0.0.9"])).toEqual({ network: "a,b,c", networkOptions: [{}, {}, { ips: ["10.0.0.9"] }] });
    expect(createRequestOf({}, ["--network", "a:host_interface_name=veth-a"])).toEqual({ network: "a", networkOptions: [{ hostInterfaceName: "veth-a" }] });
    expect(() => createRequestOf({}, ["--network", "a:host_interface_name="])).toThrow("invalid option for network a: host_interface_name cannot be empty");
    expect(createRequestOf({}, ["--network", "a:interface_name=x", "--network", "b", "--network", "c:interface_name=y"])).toEqual({
      network: "a,b,c",
      networkOptions: [{ interfaceName: "x" }, {}, { interfaceName: "y" }],
    });
    // podman's netflags: --ip, --ip6 and --mac-address name no network, so they go with one only
    expect(() => createRequestOf({ ip: "10.0.0.5" }, ["--network", "a", "--network", "b", "--ip", "10.0.0.5"])).toThrow("--ip can only be set for a single network: invalid argument");
    expect(() => createRequestOf({ mac: "92:d0:c6:0a:29:34" }, ["--network", "a,b", "--mac", "92:d0:c6:0a:29:34"])).toThrow("--mac-address can only be set for a single network: invalid argument");
    expect(() => createRequestOf({ ip: "nope" }, ["--network", "a,b", "--ip", "nope"])).toThrow('"nope" is not an ip address');
    expect(createRequestOf({ ip: "10.0.0.5" }, ["--network", "a", "--ip", "10.0.0.5"])).toEqual({ network: "a", ip: "10.0.0.5" });
    expect(() => createRequestOf({}, ["--network", "a:color=x"])).toThrow('invalid option for network a: "color" is not supported');
    expect(() => createRequestOf({}, ["--network", ":ip=10.0.0.9"])).toThrow("network name cannot be empty");
    expect(() => createRequestOf({}, ["--network", "a:alias="])).toThrow("alias cannot be empty");
  });

  test("--add-host with --network container:ID is refused in podman's words", () => {
    expect(() => createRequestOf({}, ["--network", "container:web", "--add-host", "h1:127.0.0.1"])).toThrow(
      "cannot set extra host entries when the container is joined to another containers network namespace: invalid configuration",
    );
  });
});

describe("port", () => {
  const ports = parsePortSpecs(["8080:80", "127.0.0.1:9000-9001:90-91/udp"]);
  test("lists every mapping, or the host address of one port", () => {
    expect(portLines(ports)).toEqual(["80/tcp -> 0.0.0.0:8080", "90/udp -> 127.0.0.1:9000", "91/udp -> 127.0.0.1:9001"]);
    expect(portLines(ports, "80")).toEqual(["0.0.0.0:8080"]);
    expect(portLines(ports, "91/udp")).toEqual(["127.0.0.1:9001"]);
  });
  test("an unknown port names itself with its protocol", () => {
    expect(() => portLines(ports, "99")).toThrow('failed to find published port "99/tcp"');
    expect(() => portLines(ports, "80/udp")).toThrow('failed to find published port "80/udp"');
    // as podman's port: any protocol word (not found), the port in strconv's words, one / at most
    expect(() => portLines(ports, "80/icmp")).toThrow('failed to find published port "80/icmp"');
    expect(parsePortQuery("80/icmp")).toEqual({ port: 80, protocol: "icmp" });
    expect(() => parsePortQuery("abc")).toThrow('strconv.ParseUint: parsing "abc": invalid syntax');
    expect(() => parsePortQuery("70000/udp")).toThrow('strconv.ParseUint: parsing "70000": value out of range');
    expect(() => parsePortQuery("80/tcp/x")).toThrow("port formats are port/protocol. '80/tcp/x' is invalid");
  });
});
