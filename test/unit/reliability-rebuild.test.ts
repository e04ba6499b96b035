// Pure parts of what issue 18 rebuilds and sweeps: a slirp4netns command line back to its options, and the
// iptables-restore script that deletes a lost container's rules, and nobody else's.
import { describe, expect, test } from "bun:test";
import { orphanRuleDeletions } from "../../src/drivers/cni/orphans.ts";
import { slirp4netnsArgs } from "../../src/drivers/slirp4netns/argv.ts";
import { parseSlirp4netnsOptions } from "../../src/drivers/slirp4netns/options.ts";
import { slirp4netnsModeOf } from "../../src/lifecycle/rebuild.ts";

describe("slirp4netnsModeOf", () => {
  const features = {
    disableHostLoopback: true, mtu: true, enableSandbox: true, enableSeccomp: true, cidr: true, enableIPv6: true,
    outboundAddr: true, outboundAddr6: true, apiSocket: true, netnsType: true,
  };
  const host = { interfaceExists: () => true };

  test.each([
    [[]],
    [["mtu=1400"]],
    [["cidr=10.41.0.0/24", "allow_host_loopback=true", "enable_ipv6=true"]],
    [["outbound_addr=eth0", "outbound_addr6=eth0", "enable_ipv6=true", "port_handler=slirp4netns"]],
  ])("the options %j come back from the command line they gave", (options) => {
    const parsed = parseSlirp4netnsOptions(options, host);
    const { args } = slirp4netnsArgs({
      binary: "slirp4netns", features: features as never, options: parsed, target: { netnsPath: "/run/netns/x" }, tapName: "tap0",
      apiSocket: parsed.portHandler === "slirp4netns" ? "/run/ctrnet/helpers/a.sock" : undefined, readyFd: 3, sandbox: true,
    });
    const back = slirp4netnsModeOf(["slirp4netns", ...args]);
    expect(back?.netnsPath).toBe("/run/netns/x");
    expect(parseSlirp4netnsOptions(back!.options, host)).toEqual(parsed);
  });

  test("a slirp4netns given a pid, not a netns path, is not taken", () => {
    expect(slirp4netnsModeOf(["slirp4netns", "-c", "-r", "3", "1234", "tap0"])).toBeUndefined();
  });
});

describe("orphanRuleDeletions", () => {
  const dump = [
    "*filter",
    ":CNI-FORWARD - [0:0]",
    "-A CNI-FORWARD -d 10.89.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A CNI-FORWARD -s 10.89.0.2/32 -j ACCEPT",
    "-A CNI-FORWARD -d 10.89.0.22/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "COMMIT",
    "*nat",
    ":CNI-DN-d3cb82da2342ccfb87a99 - [0:0]",
    ":CNI-d3cb82da2342ccfb87a99583 - [0:0]",
    ":CNI-DN-aaaaaaaaaaaaaaaaaaaaa - [0:0]",
    '-A POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \\"nc\\" id: \\"lost\\"" -j CNI-d3cb82da2342ccfb87a99583',
    "-A CNI-DN-d3cb82da2342ccfb87a99 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.89.0.2:80",
    '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"nc\\" id: \\"lost\\"" -m multiport --dports 8080 -j CNI-DN-d3cb82da2342ccfb87a99',
    '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"nc\\" id: \\"podman1\\"" -m multiport --dports 9090 -j CNI-DN-aaaaaaaaaaaaaaaaaaaaa',
    '-A CNI-d3cb82da2342ccfb87a99583 -d 10.89.0.0/24 -m comment --comment "name: \\"nc\\" id: \\"lost\\"" -j ACCEPT',
    "COMMIT",
    "",
  ].join("\n");

  test("deletes the lost container's tagged rules, its chains and its address's firewall rules; nothing of another id or address", () => {
    const sweep = { removed: [] as string[], errors: [] as string[] };
    expect(orphanRuleDeletions(dump, new Set(["lost"]), new Set(["10.89.0.2"]), sweep, "iptables")).toBe(
      [
        "*filter",
        "-D CNI-FORWARD -d 10.89.0.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-D CNI-FORWARD -s 10.89.0.2/32 -j ACCEPT",
        "COMMIT",
        "*nat",
        '-D POSTROUTING -s 10.89.0.2/32 -m comment --comment "name: \\"nc\\" id: \\"lost\\"" -j CNI-d3cb82da2342ccfb87a99583',
        '-D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"nc\\" id: \\"lost\\"" -m multiport --dports 8080 -j CNI-DN-d3cb82da2342ccfb87a99',
        "-F CNI-d3cb82da2342ccfb87a99583",
        "-X CNI-d3cb82da2342ccfb87a99583",
        "-F CNI-DN-d3cb82da2342ccfb87a99",
        "-X CNI-DN-d3cb82da2342ccfb87a99",
        "COMMIT",
        "",
      ].join("\n"),
    );
    expect(sweep.removed).toHaveLength(4);
  });

  test("an id that is a prefix of another's is no match", () => {
    const sweep = { removed: [] as string[], errors: [] as string[] };
    expect(orphanRuleDeletions(dump, new Set(["los", "podman"]), new Set(), sweep, "iptables")).toBe("");
  });
});
