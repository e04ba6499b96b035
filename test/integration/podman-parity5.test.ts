// Fifth pass over podman's networking tests (test/e2e: run_networking_test.go, network_test.go,
// network_create_test.go, network_connect_disconnect_test.go, port_test.go, run_dns_test.go,
// run_staticip_test.go, create_staticip_test.go, run_aardvark_test.go), as ctrnet commands through the
// compiled binary on real networks: several static IPs on one network, -l/--latest, --replace, the
// command's hostname, and podman's words for bad or taken addresses.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { hex, Installation, privileged, run, type TestNetwork } from "./lifecycle-helpers.ts";

/** The global addresses of eth0 inside a netns, as `ip addr show eth0 | awk` gives them in podman's test. */
function eth0Addresses(netnsPath: string, family: 4 | 6): string[] {
  const out = run(["nsenter", `--net=${netnsPath}`, "ip", `-${family}`, "-o", "addr", "show", "dev", "eth0", "scope", "global"]).out;
  return [...out.matchAll(/inet6? (\S+)\//g)].map((m) => m[1]!);
}

describe.skipIf(!privileged)("podman parity, fifth pass", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("pp5");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  /** Networks made by `network create` with these subnets each, removed after fn. */
  function withNetworks(subnetLists: string[][], fn: (names: string[]) => void): void {
    const names: string[] = [];
    try {
      for (const subnets of subnetLists) {
        const name = `p5-${hex(3)}`;
        inst.ok(["network", "create", ...subnets.flatMap((s) => ["--subnet", s]), name]);
        names.push(name);
      }
      fn(names);
    } finally {
      inst.removeAll();
      for (const name of names) inst.cli(["network", "rm", "-f", name]);
    }
  }

  test("several static IPs on one network (e2e: run container with multiple static IPs): each subnet's in the order given, the first the primary", () => {
    const a = 150 + (Number.parseInt(hex(1), 16) % 50);
    withNetworks([[`10.${a}.10.0/24`, `10.${a}.11.0/24`], [`10.${a + 50}.0.0/16`]], ([two, one]) => {
      const id = `mip-${hex(4)}`;
      const netns = inst.ok(["create", "--name", id, "--network", `${two}:ip=10.${a}.10.21,ip=10.${a}.11.10,ip=10.${a}.10.20,ip=10.${a}.11.11`, id]).trim();
      expect(eth0Addresses(netns, 4).sort()).toEqual([`10.${a}.10.20`, `10.${a}.10.21`, `10.${a}.11.10`, `10.${a}.11.11`]);
      const settings = inst.inspect(id).NetworkSettings.Networks[two!];
      expect(settings.IPAddress).toBe(`10.${a}.10.21`);
      expect(settings.SecondaryIPAddresses.map((s: { Addr: string }) => s.Addr)).toEqual([`10.${a}.10.20`, `10.${a}.11.10`, `10.${a}.11.11`]);
      const iface = JSON.parse(inst.ok(["network", "inspect", two!]))[0].containers[id].interfaces.eth0;
      expect(iface.subnets.map((s: { ipnet: string; gateway: string }) => [s.ipnet, s.gateway])).toEqual([
        [`10.${a}.10.21/24`, `10.${a}.10.1`],
        [`10.${a}.10.20/24`, `10.${a}.10.1`],
        [`10.${a}.11.10/24`, `10.${a}.11.1`],
        [`10.${a}.11.11/24`, `10.${a}.11.1`],
      ]);
      // one subnet, three of its addresses: one default route through its gateway
      const single = inst.ok(["run", "--network", `${one}:ip=10.${a + 50}.0.12,ip=10.${a + 50}.0.10,ip=10.${a + 50}.0.11`, "--", "sh", "-c", "ip -4 -o addr show eth0; ip route show default"]);
      expect([...single.matchAll(/inet (\S+)\//g)].map((m) => m[1])).toEqual([`10.${a + 50}.0.12`, `10.${a + 50}.0.10`, `10.${a + 50}.0.11`]);
      expect(single.match(/^default /gm)).toHaveLength(1);
      // a taken one is podman's words, and nothing of the new container is left
      const taken = inst.cli(["create", "--network", `${two}:ip=10.${a}.10.30,ip=10.${a}.11.10`, `tk-${hex(3)}`]);
      expect({ code: taken.code, stdout: taken.stdout }).toEqual({ code: 2, stdout: "" });
      expect(taken.stderr).toContain(`IPAM error: requested ip address 10.${a}.11.10 is already allocated to container ID ${id}`);
      inst.ok(["rm", id]);
    });
  });

  test("several static IPv6 IPs: a subnet without one gets a dynamic address (e2e: static IPv6 IP on one subnet and dynamic on another)", () => {
    const tag = (0x1000 + (Number.parseInt(hex(2), 16) % 0xe000)).toString(16);
    withNetworks([[`fd93:${tag}::/64`, `fd94:${tag}::/64`]], ([name]) => {
      const id = `mip6-${hex(4)}`;
      const netns = inst.ok(["create", "--network", `${name}:ip=fd93:${tag}::50,ip=fd93:${tag}::51`, id]).trim();
      const addresses = eth0Addresses(netns, 6);
      expect(addresses).toHaveLength(3);
      expect(addresses).toContain(`fd93:${tag}::50`);
      expect(addresses).toContain(`fd93:${tag}::51`);
      const settings = inst.inspect(id).NetworkSettings.Networks[name!];
      expect(settings.GlobalIPv6Address).toBe(`fd93:${tag}::50`);
      expect(settings.SecondaryIPv6Addresses.map((s: { Addr: string }) => s.Addr)).toEqual([`fd93:${tag}::51`, expect.stringMatching(new RegExp(`^fd94:${tag}::`))]);
    });
  });

  test("podman's words for --ip: not an address, outside every subnet (e2e run/create --ip), exit 2, nothing made", () => {
    for (const [args, words] of [
      [["--ip", "114232346"], '"114232346" is not an ip address'],
      [["--ip", "203.0.113.124"], `requested static ip 203.0.113.124 not in any subnet on network ${net.name}`],
      [["--ip6", "2001:db8:bad:beef::1"], `requested static ip 2001:db8:bad:beef::1 not in any subnet on network ${net.name}`],
      [["--dns", "foobar"], "foobar is not an ip address"],
      [["--add-host", "foo:1.2"], 'invalid IP address in add-host: "1.2"'],
    ] as const) {
      const r = inst.cli(["run", "--network", net.name, ...args, "--", "true"]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(r.stderr).toContain(words);
    }
    // the dns conflict is podman's first check, whatever the value (e2e: mutually excludes --dns* and --network)
    const owner = `own-${hex(3)}`;
    inst.ok(["create", "--network", net.name, owner]);
    const conflict = inst.cli(["run", "--dns-opt=1.2.3.4", "--network", `container:${owner}`, "--", "true"]);
    expect({ code: conflict.code, stderr: conflict.stderr }).toEqual({ code: 2, stderr: "ctrnet: error: conflicting options: dns and the network mode: container\n" });
    // any word is a resolv.conf option, as podman's
    expect(inst.ok(["run", "--network", net.name, "--dns-opt=debug", "--", "cat", "/etc/resolv.conf"])).toMatch(/^options debug$/m);
  });

  test("-l/--latest (e2e port -l, container port -l, port -l 80): the container made last; with --all, podman's words", () => {
    const [first, last] = [`lt1-${hex(3)}`, `lt2-${hex(3)}`];
    inst.ok(["create", "--network", net.name, "--expose", "80", "-P", first]);
    inst.ok(["create", "-dt", "--network", net.name, "-p", "127.0.0.1::5000", last]);
    const line = inst.ok(["port", "-l"]);
    expect(line).toMatch(/^5000\/tcp -> 127\.0\.0\.1:\d+\n$/);
    expect(inst.ok(["container", "port", "-l"])).toBe(line);
    expect(inst.ok(["port", "-l", "5000"])).toBe(`${line.split(" -> ")[1]}`);
    expect(inst.ok(["inspect", "-l", "--format", "{{.ID}}"])).toBe(`${last}\n`);
    expect(JSON.parse(inst.ok(["stats", "-l", "--no-stream", "--format", "json"])).map((s: { interface: string }) => s.interface)).toContain("eth0");
    for (const [args, words] of [
      [["port", "-a", "-l"], "--all and --latest cannot be used together"],
      [["port", "-a", first], "no arguments are needed with --all"],
      [["inspect", "-l", first], "--latest and arguments cannot be used together"],
      [["rm", "-a", "-l"], "--all and --latest cannot be used together"],
      [["rm"], "you must provide at least one name or id"],
    ] as const) {
      const r = inst.cli([...args]);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(words);
    }
    expect(inst.ok(["rm", "-l"])).toBe(`${last}\n`);
    expect(inst.ok(["inspect", "--latest", "--format", "{{.ID}}"])).toBe(`${first}\n`);
    // rm -a: every container, the last made first
    inst.ok(["create", "--network", `container:${first}`, last]);
    expect(inst.ok(["rm", "-a", "-f"])).toBe(`${last}\n${first}\n`);
    const none = inst.cli(["port", "-l"]);
    expect({ code: none.code, stderr: none.stderr }).toEqual({ code: 1, stderr: "ctrnet: error: no containers to use with --latest: no such container\n" });
  });

  test("--replace (e2e: run -d --replace --name on a joined netns): the container of that name goes first; without it the name is taken", () => {
    const name = `rp-${hex(3)}`;
    inst.ok(["create", "--network", net.name, "-p", "127.0.0.1::80", "--name", name, `${name}-a`]);
    expect(inst.cli(["create", "--network", net.name, "--name", name, `${name}-b`]).code).toBe(2);
    inst.ok(["create", "--replace", "--network", "none", "--name", name, `${name}-b`]);
    expect((JSON.parse(inst.ok(["ls", "--format", "json"])) as { id: string }[]).map((c) => c.id)).toEqual([`${name}-b`]);
    // run's too, and its container goes with its command as ever
    expect(inst.ok(["run", "--replace", "--network", net.name, "--name", name, "--", "true"])).toBe("");
    expect(JSON.parse(inst.ok(["ls", "--format", "json"]))).toEqual([]);
  });

  test("the command's hostname (e2e: run hostname tests, --net host/none --hostname, run --hostname /etc/hostname): a uts namespace of its own", () => {
    const id12 = /^[0-9a-f]{12}$/;
    const env = (args: string[]) => inst.ok(["run", ...args, "--", "sh", "-c", 'echo "$HOSTNAME $(hostname) $(cat /etc/hostname)"']).trim().split(" ");
    const [envName, uname, file] = env(["--network", net.name]);
    expect(envName).toMatch(id12);
    expect([uname, file]).toEqual([envName, envName]);
    expect(env(["--network", net.name, "--hostname", "foobar"])).toEqual(["foobar", "foobar", "foobar"]);
    expect(env(["--network", "none", "--hostname", "testctr"])).toEqual(["testctr", "testctr", "testctr"]);
    expect(env(["--network", "host", "--hostname", "testctr"]).slice(0, 2)).toEqual(["testctr", "testctr"]);
    // the host's: its network without --hostname, or --uts host
    expect(env(["--network", "host"]).slice(0, 2)).toEqual([hostname(), hostname()]);
    expect(env(["--network", net.name, "--uts", "host"]).slice(0, 2)).toEqual([hostname(), hostname()]);
    // another container's with --uts container:ID
    const owner = `ut-${hex(3)}`;
    inst.ok(["create", "--network", net.name, "--hostname", "joined", owner]);
    expect(inst.ok(["run", `--net=container:${owner}`, `--uts=container:${owner}`, "--", "hostname"])).toBe("joined\n");
    // the host's own name never changed, and run's file went with it
    expect(hostname()).toBe(readFileSync("/proc/sys/kernel/hostname", "utf8").trim());
    const bad = inst.cli(["run", "--uts", "host", "--hostname", "x", "--", "true"]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: "ctrnet: error: cannot set hostname when running in the host UTS namespace: invalid configuration\n" });
    inst.ok(["rm", owner]);
    expect(existsSync(join(inst.env.CTRNET_ROOT!, "containers", owner))).toBe(false);
  });

  test("booleans with a value as pflag reads them (e2e containers.conf: --no-hosts=false, --add-host with --no-hosts)", () => {
    expect(inst.ok(["run", "--network", net.name, "--no-hosts=true", "--", "cat", "/etc/hosts"])).toBe(readFileSync("/etc/hosts", "utf8"));
    const name = `nh-${hex(3)}`;
    expect(inst.ok(["run", "--network", net.name, "--name", name, "--no-hosts=false", "--", "cat", "/etc/hosts"])).toMatch(new RegExp(`\\s${name}\\n`));
    const both = inst.cli(["run", "--network", net.name, "--add-host", "test1:127.0.0.1", "--no-hosts", "--", "true"]);
    expect({ code: both.code, stderr: both.stderr }).toEqual({ code: 2, stderr: "ctrnet: error: --no-hosts and --add-host cannot be set together\n" });
    expect(inst.cli(["run", "--network", net.name, "--add-host", "test1:127.0.0.1", "--no-hosts=false", "--", "true"]).code).toBe(0);
  });

  test("--hosts-file (e2e run --hosts-file=path|none|image): the base of /etc/hosts; a hostname with _, several names on one --add-host", () => {
    const base = join(inst.env.CTRNET_ROOT!, `hosts-${hex(3)}`);
    writeFileSync(base, "23.45.67.89 file.example.com");
    const hosts = (file: string) =>
      inst.ok(["run", "--network", net.name, "--hostname", "hosts_test.dev", `--hosts-file=${file}`, "--add-host=add.example.com;add2:34.56.78.90", "--name", "hosts_test", "--rm", "--", "cat", "/etc/hosts"]).replace(/[ \t]+/g, " ");
    const fromFile = hosts(base);
    for (const line of ["34.56.78.90 add.example.com add2\n23.45.67.89 file.example.com\n127.0.0.1 localhost\n::1 localhost\n", "host.containers.internal host.docker.internal", "hosts_test.dev hosts_test"]) expect(fromFile).toContain(line);
    const none = hosts("none");
    expect(none).not.toContain("file.example.com");
    expect(none).toContain("34.56.78.90 add.example.com add2\n127.0.0.1 localhost\n::1 localhost\n");
    // image, or "": the default, the host's localhost lines
    expect(hosts("image")).not.toContain("file.example.com");
    const both = inst.cli(["run", "--network", net.name, "--no-hosts", `--hosts-file=${base}`, "--", "true"]);
    expect({ code: both.code, stderr: both.stderr }).toEqual({ code: 2, stderr: "ctrnet: error: --no-hosts and --hosts-file cannot be set together\n" });
  });

  test("network inspect of a missing network names it as podman (e2e network ID test); inspect's Config and AdditionalMacAddresses fields", () => {
    const missing = `0${hex(31)}`;
    const r = inst.cli(["network", "inspect", missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`network ${missing}: unable to find network with name or ID ${missing}: network not found`);
    const id = `cf-${hex(4)}`;
    inst.ok(["create", "--network", net.name, id]);
    expect(inst.ok(["inspect", id, "--format", "{{.Config.ExposedPorts}} {{json .Config}} {{.NetworkSettings.AdditionalMacAddresses}} {{json .NetworkSettings.AdditionalMacAddresses}}"])).toBe(`map[] {"Hostname":"${id.slice(0, 12)}"} [] null\n`);
    // a network's unset Go maps and slices print as Go prints nil ones: map[] and [], JSON null
    const net1 = `(index .NetworkSettings.Networks "${net.name}")`;
    expect(inst.ok(["inspect", id, "--format", `{{${net1}.DriverOpts}} {{${net1}.IPAMConfig}} {{${net1}.Links}} {{json ${net1}.DriverOpts}} {{json ${net1}.Links}}`])).toBe("map[] map[] [] null null\n");
  });

  test("inspect of a network name (e2e: podman inspect network, --type network on a container), podman's inspectAll order and words", () => {
    const id = `in-${hex(4)}`;
    inst.ok(["create", "--network", net.name, "-p", "127.0.0.1:8084:80", id]);
    expect(inst.ok(["inspect", net.name, "--format", "{{.Driver}}"])).toBe("bridge\n");
    expect(inst.ok(["inspect", id, net.name, "--format", "{{.Name}}"])).toBe(`\n${net.name}\n`);
    expect(JSON.parse(inst.ok(["inspect", "--type", "network", net.name]))[0].name).toBe(net.name);
    const wrongType = inst.cli(["inspect", "--type", "network", id]);
    expect(wrongType.code).toBe(1);
    expect(wrongType.stderr).toContain(" network not found");
    const missing = inst.cli(["inspect", "foobar4321"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such object: "foobar4321"');
    expect(inst.cli(["inspect", "--type", "container", net.name]).stderr).toContain(`no container with name or ID "${net.name}" found: no such container`);
    // quotes in the format are text, as Go's template keeps them (e2e: --format json .NetworkSettings.Ports)
    expect(inst.ok(["inspect", '--format="{{json .NetworkSettings.Ports}}"', id])).toBe('"{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"8084"}]}"\n');
  });

  test("ps --filter id|name|network, --no-trunc, {{.Names}}, {{.Networks}} comma-joined, Ports by host port (e2e ps_test network and port cases)", () => {
    const [alpha, bravo, other] = [`alpha-${hex(3)}`, `bravo-${hex(3)}`, `other${hex(30)}`];
    inst.ok(["create", "--network", net.name, "--name", alpha, "-p", "127.0.0.1:3000-3001:3000-3001", "-p", "127.0.0.1:3100-3102:4000-4002", "-p", "127.0.0.1:30080:30080", "-p", "127.0.0.1:8000:8080", alpha]);
    inst.ok(["create", "--network", `container:${alpha}`, "--name", bravo, bravo]);
    inst.ok(["create", "--network", "none", other]);
    expect(inst.ok(["ps", "-a", "--format", "table {{.Names}}", "--filter", `network=container:${alpha}`])).toBe(`NAMES\n${bravo}\n`);
    expect(inst.ok(["ps", "-a", "--format", "{{.Names}} {{.Networks}}", "--filter", `network=${net.name}`])).toBe(`${alpha} ${net.name}\n`);
    expect(inst.ok(["ps", "--format", "{{.Ports}}", "--filter", `name=^${alpha}$`])).toBe(
      "127.0.0.1:3000-3001->3000-3001/tcp, 127.0.0.1:3100-3102->4000-4002/tcp, 127.0.0.1:8000->8080/tcp, 127.0.0.1:30080->30080/tcp\n",
    );
    expect(inst.ok(["ps", "-q", "--no-trunc", "--filter", `id=${other.slice(0, 8)}`])).toBe(`${other}\n`);
    expect(inst.ok(["ps", "-q", "--filter", "network=no-such-net"])).toBe("");
    const bad = inst.cli(["ps", "--filter", "status=running"]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: 'ctrnet: error: invalid filter "status": use id=…, name=…, network=…\n' });
    const conflict = inst.cli(["run", "--network", net.name, "-p", "1000-2000:2000-3000", "-p", "1999-2999:3001-4001", "--", "true"]);
    expect(conflict.code).toBe(2);
    expect(conflict.stderr).toContain("conflicting port mappings for host port 1999 (protocol tcp)");
  });

  test("exposed ports in inspect (e2e container_inspect_test): NetworkSettings.Ports with null, Config.ExposedPorts with the published ones; ps lists them by protocol", () => {
    const [c1, c2, c3] = [`ep1-${hex(3)}`, `ep2-${hex(3)}`, `ep3-${hex(3)}`];
    inst.ok(["create", "--network", net.name, "--expose", "8787/udp", "--expose", "99/sctp", "--name", c1, c1]);
    const one = inst.inspect(c1);
    expect(one.NetworkSettings.Ports).toEqual({ "8787/udp": null, "99/sctp": null });
    expect(one.Config.ExposedPorts).toEqual({ "8787/udp": {}, "99/sctp": {} });
    expect(inst.ok(["ps", "--format", "{{.Ports}}", "--filter", `name=${c1}`])).toBe("99/sctp, 8787/udp\n");
    inst.ok(["create", "--network", net.name, "--expose", "22/tcp", "-p", "127.0.0.1::80/tcp", c2]);
    inst.ok(["create", "--network", `container:${c2}`, c3]);
    expect(inst.inspect(c2).Config.ExposedPorts).toEqual({ "22/tcp": {}, "80/tcp": {} });
    expect(inst.inspect(c3).Config.ExposedPorts).toBeUndefined();
  });

  test("network create --ipam-driver=none (e2e: run with ipam none driver): eth0 has its link-local address only; no subnet, no DNS", () => {
    const name = `in-${hex(3)}`;
    inst.ok(["network", "create", "--ipam-driver=none", name]);
    try {
      const info = JSON.parse(inst.ok(["network", "inspect", name]))[0];
      expect({ subnets: info.subnets, dns: info.dns_enabled, ipam: info.ipam_options }).toEqual({ subnets: [], dns: false, ipam: { driver: "none" } });
      const lines = inst.ok(["run", "--network", name, "--", "ip", "addr", "show", "eth0"]).trimEnd().split("\n");
      expect(lines).toHaveLength(4);
      expect(lines[2]).toMatch(/^\s+inet6 fe80::/);
      const id = `inc-${hex(3)}`;
      inst.ok(["create", "--network", name, id]);
      expect(inst.inspect(id).NetworkSettings.Networks[name].IPAddress).toBe("");
      inst.ok(["rm", id]);
      const bad = inst.cli(["network", "create", "--ipam-driver", "none", "--subnet", "10.9.9.0/24", `bad-${hex(3)}`]);
      expect(bad.code).toBe(2);
    } finally {
      inst.removeAll();
      inst.ok(["network", "rm", name]);
    }
  });

  test("network create -o vlan=N is made whatever the kernel (e2e: with vlan option); a container on it works or says what the kernel lacks", () => {
    const name = `vl-${hex(3)}`;
    inst.ok(["network", "create", "--subnet", `10.${200 + (Number.parseInt(hex(1), 16) % 50)}.${Number.parseInt(hex(1), 16)}.0/24`, "--opt", "vlan=9", name]);
    try {
      expect(inst.ok(["network", "inspect", name, "--format", "{{.Options}}"])).toBe("map[vlan:9]\n");
      const r = inst.cli(["run", "--network", name, "--", "true"]);
      if (r.code !== 0) expect(r.stderr).toContain("-o vlan=9 needs the kernel's bridge VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING), which this kernel lacks");
    } finally {
      inst.removeAll();
      inst.ok(["network", "rm", name]);
    }
  });

  test("network ls --format {{.Labels}}: podman's FormatLabels, key=value by key (e2e network list --filter labels)", () => {
    const name = `lb-${hex(3)}`;
    inst.ok(["network", "create", "--label", "testlabel1=abc", "--label", "abcdef", "--label", "a=1", name]);
    try {
      expect(inst.ok(["network", "ls", "--filter", `name=${name}`, "--format", "{{.Name}} {{.Labels}}"])).toBe(`${name} a=1,abcdef=,testlabel1=abc\n`);
      expect(inst.ok(["network", "ls", "--filter", "label=testlabel1=abc", "--filter", "label=abcdef", "--format", "{{.Name}}"])).toBe(`${name}\n`);
    } finally {
      inst.ok(["network", "rm", name]);
    }
  });

  test("macvlan -o bclim=N (podman's broadcast queue cutoff): the kernel takes the container's link with it", () => {
    const [parent, peer, name] = [`p5m${hex(2)}`, `p5p${hex(2)}`, `bc-${hex(3)}`];
    expect(run(["ip", "link", "add", parent, "type", "veth", "peer", "name", peer]).ok).toBe(true);
    try {
      run(["ip", "link", "set", parent, "up"]);
      inst.ok(["network", "create", "-d", "macvlan", "-o", `parent=${parent}`, "-o", "bclim=2", "--subnet", "10.233.0.0/24", name]);
      expect(inst.ok(["network", "inspect", name, "--format", "{{.Options}}"])).toBe("map[bclim:2]\n");
      expect(inst.ok(["run", "--network", name, "--", "ip", "-o", "link", "show", "eth0"])).toContain("eth0@");
    } finally {
      inst.removeAll();
      inst.cli(["network", "rm", "-f", name]);
      run(["ip", "link", "del", parent]);
    }
  });

  test("macvlan and ipvlan networks may share a subnet (e2e container interface name for macvlan/ipvlan): only a bridge's must be free", () => {
    const names = [`mv1-${hex(3)}`, `mv2-${hex(3)}`, `iv1-${hex(3)}`];
    try {
      inst.ok(["network", "create", "-d", "macvlan", "-o", "parent=lo", "--subnet", "10.10.0.0/24", names[0]!]);
      inst.ok(["network", "create", "-d", "macvlan", "-o", "parent=lo", "--subnet", "10.10.0.0/24", names[1]!]);
      inst.ok(["network", "create", "-d", "ipvlan", "-o", "parent=lo", "--subnet", "10.10.0.0/24", names[2]!]);
      const bridge = inst.cli(["network", "create", "--subnet", "10.10.0.0/24", `br-${hex(3)}`]);
      expect(bridge.code).toBe(2);
      expect(bridge.stderr).toContain("subnet 10.10.0.0/24 is already used on the host or by another config");
    } finally {
      for (const name of names) inst.cli(["network", "rm", "-f", name]);
    }
  });
});
