// Cases of podman's own networking tests (test/system/500-networking.bats, test/e2e/network*_test.go)
// that ctrnet failed, as ctrnet's commands, through the compiled binary on real networks: `ip a` shows a
// broadcast, inspect's NetworkID is the network's id, --hostname is an alias, the /etc files follow
// connect and disconnect, slirp4netns is named in Networks, network rm -t -1.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hex, Installation, privileged, type TestNetwork } from "./lifecycle-helpers.ts";

/** `ip -4 -o addr show DEV` inside a netns (or on the host), one line an address. */
function inet4(dev: string, netnsPath?: string): string {
  const argv = ["ip", "-4", "-o", "addr", "show", "dev", dev];
  return Bun.spawnSync(netnsPath ? ["nsenter", `--net=${netnsPath}`, ...argv] : argv, { stdout: "pipe" }).stdout.toString();
}

describe.skipIf(!privileged)("podman's networking tests, as ctrnet commands", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("pdm");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  /** A network made by `network create` (ctrnet's DNS on), removed after fn. */
  function withCreatedNetworks(count: number, fn: (names: string[], prefixes: string[]) => void): void {
    const names: string[] = [];
    const prefixes: string[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const prefix = `10.${100 + (Number.parseInt(hex(1), 16) % 100)}.${Number.parseInt(hex(1), 16)}`;
        const name = `pdm-${hex(3)}`;
        inst.ok(["network", "create", "--subnet", `${prefix}.0/24`, name]);
        names.push(name);
        prefixes.push(prefix);
      }
      fn(names, prefixes);
    } finally {
      inst.removeAll();
      for (const name of names) inst.cli(["network", "rm", "-f", name]);
    }
  }

  test("ip a in the container shows the address with its subnet's broadcast (bats: inet X.2/24 brd X.255)", () => {
    const id = `brd-${hex(4)}`;
    const netns = inst.ok(["create", "--network", net.name, id]).trim();
    expect(inet4("eth0", netns)).toMatch(new RegExp(`inet ${net.prefix.replaceAll(".", "\\.")}\\.\\d+/24 brd ${net.prefix.replaceAll(".", "\\.")}\\.255 `));
  });

  test("inspect: a network's NetworkID is its id as network inspect --format {{.Id}} prints it; --hostname is among the Aliases", () => {
    withCreatedNetworks(1, ([name]) => {
      const netId = inst.ok(["network", "inspect", name!, "--format", "{{.Id}}"]).trim();
      expect(netId).toMatch(/^[0-9a-f]{64}$/);
      const id = `nid-${hex(4)}`;
      inst.ok(["create", "--network", name!, "--hostname", "host-x", id]);
      const settings = inst.inspect(id).NetworkSettings.Networks[name!];
      expect(settings.NetworkID).toBe(netId);
      expect(settings.Aliases).toEqual([id, "host-x"]);
      // the bridge holds the gateway with the broadcast too, as the reference bridge plugin's
      const bridge = inst.ok(["network", "inspect", name!, "--format", "{{.NetworkInterface}}"]).trim();
      expect(inet4(bridge)).toContain(" brd ");
    });
  });

  test("connect and disconnect: the container's hosts and resolv.conf follow its networks (bats: connect/disconnect with port forwarding; e2e: network connect, disconnect)", () => {
    withCreatedNetworks(2, ([n1, n2], [p1, p2]) => {
      const id = `etc-${hex(4)}`;
      inst.ok(["create", "--network", n1!, "--hostname", "hh", "--add-host", "db:192.0.2.9", id]);
      const dnsId = `dns-${hex(4)}`;
      inst.ok(["create", "--network", n1!, "--dns", "192.0.2.53", dnsId]);
      const files = (name: string, which: "hosts" | "resolv.conf") => readFileSync(join(inst.env.CTRNET_ROOT!, "containers", name, which), "utf8");
      const ip = (network: string) => inst.inspect(id).NetworkSettings.Networks[network]?.IPAddress as string;
      const ip1 = ip(n1!);
      expect(files(id, "hosts")).toContain(`${ip1}\thh ${id}`);
      expect(files(id, "resolv.conf")).toContain(`nameserver ${p1}.1`);

      inst.ok(["network", "connect", n2!, id]);
      const ip2 = ip(n2!);
      expect(files(id, "hosts")).toContain(`${ip2}\thh ${id}`);
      expect(files(id, "resolv.conf")).toContain(`nameserver ${p2}.1`);

      expect(inst.ok(["network", "disconnect", n1!, id])).toBe("");
      expect(files(id, "hosts")).not.toContain(`${ip1}\t`);
      expect(files(id, "hosts")).toContain("192.0.2.9\tdb");
      expect(files(id, "resolv.conf")).not.toContain(`nameserver ${p1}.1`);
      expect(files(id, "resolv.conf")).toContain(`nameserver ${p2}.1`);

      // back on n1: a new address, named in hosts with the --hostname it was made with
      inst.ok(["network", "connect", n1!, id]);
      const again = ip(n1!);
      expect(again).not.toBe(ip1);
      expect(files(id, "hosts")).toContain(`${again}\thh ${id}`);

      // on DNS networks --dns is the server's upstream for the container (podman's, through aardvark-dns):
      // resolv.conf names each network's server, before and after the connect
      expect(files(dnsId, "resolv.conf")).toMatch(new RegExp(`^search dns\\.ctrnet\\nnameserver ${p1!.replaceAll(".", "\\.")}\\.1\\n`));
      inst.ok(["network", "connect", n2!, dnsId]);
      expect(files(dnsId, "resolv.conf").match(/^nameserver .*/gm)).toEqual([`nameserver ${p1}.1`, `nameserver ${p2}.1`]);
    });
  });

  test("/etc/hosts of none and host: the container's names at 127.0.0.1 with none, host.containers.internal at 127.0.0.1 in the host's netns (e2e --net=none adds hostname; bats --network=host uses localhost)", () => {
    const name = `hn-${hex(3)}`;
    const none = inst.ok(["run", "--network", "none", "--hostname", "testctr", "--name", name, "--", "cat", "/etc/hosts"]);
    expect(none).toMatch(new RegExp(`^127\\.0\\.0\\.1\ttestctr ${name}( |$)`, "m"));
    const host = inst.ok(["run", "--network", "host", "--", "cat", "/etc/hosts"]);
    expect(host).toMatch(/^127\.0\.0\.1[ \t]+host\.containers\.internal host\.docker\.internal$/m);
  });

  test("inspect names slirp4netns in Networks, as podman's default network of a container without networks", () => {
    const id = `sl-${hex(4)}`;
    inst.ok(["create", "--network", "slirp4netns", id]);
    const settings = inst.inspect(id).NetworkSettings;
    expect(Object.keys(settings.Networks)).toEqual(["slirp4netns"]);
    expect(settings.Networks.slirp4netns.NetworkID).toBe("slirp4netns");
    expect(settings.Networks.slirp4netns.IPAddress).toBe(settings.IPAddress);
    expect(settings.IPAddress).toMatch(/^10\.0\.2\.\d+$/);
  });

  test("network create refuses bad input in podman's words (e2e network_create_test.go), nothing made", () => {
    withCreatedNetworks(1, ([taken], [prefix]) => {
      for (const [args, words] of [
        [["--subnet", "10.11.12.0/17000"], "invalid CIDR address: 10.11.12.0/17000"],
        [["--gateway", "10.11.12.256"], 'invalid argument "10.11.12.256" for "--gateway" flag: invalid string being converted to IP address: 10.11.12.256'],
        [["--subnet", `${prefix}.0/24`], `subnet ${prefix}.0/24 is already used on the host or by another config`],
        [["--opt", "foo=bar"], "unsupported bridge network option: foo"],
        [["--ipam-driver", "bogus"], 'unsupported ipam driver "bogus"'],
      ] as const) {
        const name = `bad-${hex(3)}`;
        const r = inst.cli(["network", "create", ...args, name]);
        expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
        expect(r.stderr).toContain(words);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(inst.cli(["network", "exists", name]).code).toBe(1);
      }
      expect(taken).toBeDefined();
      // host-local, the one ctrnet has, may be named
      const named = `ipam-${hex(3)}`;
      expect(inst.ok(["network", "create", "--ipam-driver", "host-local", named])).toBe(`${named}\n`);
      inst.ok(["network", "rm", named]);
    });
    // a MAC the kernel would refuse, in its words as podman shows them (bats: connect --mac-address 00:00:00:00:00:00)
    const id = `mac-${hex(4)}`;
    inst.ok(["create", "--network", net.name, id]);
    const mac = inst.cli(["network", "connect", "--mac-address", "00:00:00:00:00:00", net.name, id]);
    expect(mac.stderr).toContain("Cannot assign requested address");
    // --dns-opt, podman's other spelling of --dns-option (bats: network rm --dns-option)
    expect(inst.ok(["run", "--network", net.name, "--dns-opt=ndots:3", "--", "cat", "/etc/resolv.conf"])).toMatch(/^options ndots:3$/m);
  });

  test("run --rm is accepted (podman's tests pass it everywhere); a host port another container publishes fails with podman's words (bats: port on localhost, dual-stack wildcards)", () => {
    expect(inst.cli(["run", "--rm", "--network", net.name, "--", "true"]).code).toBe(0);
    const port = 20000 + (Number.parseInt(hex(2), 16) % 10000);
    const id = `hp-${hex(4)}`;
    inst.ok(["create", "--network", net.name, "-p", `${port}:8080`, id]);
    for (const spec of [`0.0.0.0:${port}:8080`, `[::]:${port}:8080`]) {
      const r = inst.cli(["run", "--rm", "--network", net.name, "-p", spec, "--", "true"]);
      expect({ spec, code: r.code }).toEqual({ spec, code: 2 });
      expect(r.stderr).toMatch(new RegExp(`${port}.*ddress already in use`));
    }
  });

  test("--network NAME:interface_name=IF names each network's interface, in the order given (bats: --network net1,net2 setup order is deterministic)", () => {
    withCreatedNetworks(2, ([n1, n2]) => {
      const links = inst.ok(["run", "--network", `${n1}:interface_name=first`, "--network", `${n2}:interface_name=second`, "--", "sh", "-c", "ip -o link | cut -d: -f2 | cut -d@ -f1"]);
      expect(links.split("\n").map((l) => l.trim()).filter(Boolean)).toEqual(["lo", "first", "second"]);
      const bad = inst.cli(["run", "--network", `${n1}:interface_name=a/b`, "--", "true"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('invalid interface_name "a/b"');
    });
  });

  test("network rm and prune --filter of an unused network whose subnet follows a used one's (e2e: network prune --filter)", () => {
    const octet = 100 + (Number.parseInt(hex(1), 16) % 100);
    const third = 2 * (Number.parseInt(hex(1), 16) % 100);
    const [used, unused, labelled] = [`pu-${hex(3)}`, `pn-${hex(3)}`, `pl-${hex(3)}`];
    try {
      inst.ok(["network", "create", "--subnet", `10.${octet}.${third}.0/24`, used]);
      inst.ok(["network", "create", "--subnet", `10.${octet}.${third + 1}.0/24`, unused]);
      inst.ok(["network", "create", "--subnet", `10.${octet}.${third + 2}.0/24`, "--label", "pdm=1", labelled]);
      inst.ok(["create", "--network", used, `pc-${hex(4)}`]);
      // the used network's interval ends where the next subnet starts: only what is there is deleted
      expect(inst.ok(["network", "rm", unused])).toBe(`${unused}\n`);
      expect(inst.ok(["network", "prune", "--filter", "label=pdm=1"])).toBe(`${labelled}\n`);
      expect(inst.cli(["network", "exists", used]).code).toBe(0);
    } finally {
      inst.removeAll();
      for (const name of [used, unused, labelled]) inst.cli(["network", "rm", "-f", name]);
    }
  });

  test("network create --dns takes comma-separated lists too, as podman's string slice (e2e: network dns multiple servers)", () => {
    const name = `dn-${hex(3)}`;
    try {
      inst.ok(["network", "create", "--subnet", `10.${100 + (Number.parseInt(hex(1), 16) % 100)}.${Number.parseInt(hex(1), 16)}.0/24`, name, "--dns", "1.1.1.1,8.8.8.8", "--dns", "8.4.4.8"]);
      expect(inst.ok(["network", "inspect", name, "--format", "{{.NetworkDNSServers}}"]).trim()).toBe("[1.1.1.1 8.8.8.8 8.4.4.8]");
      inst.ok(["network", "update", name, "--dns-drop=1.1.1.1,8.8.8.8", "--dns-drop", "8.4.4.8", "--dns-add", "127.0.0.253,127.0.0.254", "--dns-add", "127.0.0.255"]);
      expect(inst.ok(["network", "inspect", name, "--format", "{{.NetworkDNSServers}}"]).trim()).toBe("[127.0.0.253 127.0.0.254 127.0.0.255]");
    } finally {
      inst.cli(["network", "rm", "-f", name]);
    }
  });

  test("network rm, remove and inspect without a name: podman's words, exit 2 (e2e: network rm/remove/inspect no args)", () => {
    for (const args of [["network", "rm"], ["network", "remove"], ["network", "inspect"]]) {
      const r = inst.cli(args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(r.stderr).toContain("requires at least 1 arg(s), only received 0");
    }
  });

  test("network rm -t -1 -f (podman's wait forever) of a missing network is silent; network remove is rm", () => {
    expect(inst.cli(["network", "rm", "-t", "-1", "--force", `bogus-${hex(3)}`])).toEqual({ code: 0, stdout: "", stderr: "" });
    const bad = inst.cli(["network", "rm", "-t", "-2", "-f", `bogus-${hex(3)}`]);
    expect(bad.code).toBe(2);
    withCreatedNetworks(1, ([name]) => {
      expect(inst.ok(["network", "remove", name!])).toBe(`${name}\n`);
    });
  });
});
