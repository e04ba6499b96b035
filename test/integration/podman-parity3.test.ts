// Third pass over podman's networking tests (test/system/500-networking.bats, test/e2e/network*_test.go),
// as ctrnet commands through the compiled binary on real networks: /etc/hosts in podman 5's layout
// (containers/common etchosts), podman's error words for networks that are missing or in use, network
// create's validation in podman's order and no stricter than podman's.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { removeNetworkFirewall } from "../helpers/network-plugin.ts";
import { hex, Installation, privileged, run, type TestNetwork } from "./lifecycle-helpers.ts";

describe.skipIf(!privileged)("podman parity, third pass", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("pp3");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test("/etc/hosts as podman 5 writes it: --add-host first, localhost, host.containers.internal with host.docker.internal, the container's own (hostname, its short id by default, then name: podman's getHostsEntries); a name taken by --add-host is not written again", () => {
    const name = `hs-${hex(3)}`;
    const lines = inst.ok(["run", "--network", net.name, "--name", name, "--add-host", "db.local:192.0.2.9", "--", "cat", "/etc/hosts"]).trimEnd().split("\n");
    expect(lines[0]).toBe("192.0.2.9\tdb.local");
    expect(lines.slice(1).findIndex((l) => /^127\.0\.0\.1\s+localhost/.test(l))).toBe(0);
    const gateway = lines.findIndex((l) => l === `${net.prefix}.1\thost.containers.internal host.docker.internal`);
    const own = lines.findIndex((l) => new RegExp(`^${net.prefix.replaceAll(".", "\\.")}\\.\\d+\\t[0-9a-f]{12} ${name}$`).test(l));
    expect(gateway).toBeGreaterThan(1);
    expect(own).toBe(gateway + 1);
    expect(own).toBe(lines.length - 1);
    // bats "podman run --add-host": the container named as an --add-host line names nothing more
    const taken = inst.ok(["run", "--network", net.name, "--name", "db.local", "--hostname", "db.local", "--add-host", "db.local:192.0.2.9", "--", "cat", "/etc/hosts"]);
    expect(taken.match(/db\.local/g)).toHaveLength(1);
    // --network host: the host is 127.0.0.1, by both names
    expect(inst.ok(["run", "--network", "host", "--", "cat", "/etc/hosts"])).toMatch(/^127\.0\.0\.1\thost\.containers\.internal host\.docker\.internal$/m);
  });

  test("podman's words for a network that is missing (rm, inspect), in use (rm), taken (create) or badly named; exits as ctrnet's convention", () => {
    const missing = `nope-${hex(3)}`;
    const rm = inst.cli(["network", "rm", missing]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain(`unable to find network with name or ID ${missing}: network not found`);
    const inspect = inst.cli(["network", "inspect", missing]);
    expect(inspect.code).toBe(1);
    expect(inspect.stdout.trim()).toBe("[]");
    expect(inspect.stderr).toContain(`unable to find network with name or ID ${missing}: network not found`);
    const id = `use-${hex(4)}`;
    inst.ok(["create", "--network", net.name, id]);
    const busy = inst.cli(["network", "rm", net.name]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`"${net.name}" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used`);
    const taken = inst.cli(["network", "create", net.name]);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain(`network name ${net.name} already used: network already exists`);
    expect(taken.stderr).toContain(`network already exists ${net.name}`);
    // network update finds the network first, flags or not (podman's NetworkUpdate): missing exits 1
    for (const flags of [[], ["--dns-add", "192.0.2.53"]]) {
      const update = inst.cli(["network", "update", missing, ...flags]);
      expect({ flags, code: update.code }).toEqual({ flags, code: 1 });
      expect(update.stderr).toContain(`unable to find network with name or ID ${missing}: network not found`);
    }
    const bad = inst.cli(["network", "create", "2bad!"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Invalid characters in network name "2bad!": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*');
  });

  test("network create --route with a gateway outside the subnets is made, as podman's (e2e static route ipv6); inspect shows it", () => {
    const name = `rt-${hex(3)}`;
    inst.ok(["network", "create", "--subnet", "fd:ab04::/64", "--route", "fd:1::/64,fd::1,120", name]);
    try {
      expect(inst.ok(["network", "inspect", name, "--format", "{{range .Routes}}{{.Destination}} {{.Gateway}} {{.Metric}}{{end}}"]).trim()).toBe("fd:1::/64 fd::1 120");
    } finally {
      inst.ok(["network", "rm", name]);
    }
  });

  test("a missing container in podman's words (e2e network connect/disconnect): 'no container with name or ID \"X\" found: no such container', exit 1", () => {
    const missing = `nope-${hex(3)}`;
    for (const args of [["rm", missing], ["inspect", missing], ["port", missing], ["network", "connect", net.name, missing], ["network", "disconnect", net.name, missing]]) {
      const r = inst.cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toContain(`no container with name or ID "${missing}" found: no such container`);
    }
  });

  test("rm takes podman's -t/--time (seconds, or -1 as its own word) and ignores it; a bad value exits 2", () => {
    const ids = [`t0-${hex(3)}`, `t1-${hex(3)}`, `t2-${hex(3)}`];
    for (const id of ids) inst.ok(["create", "--network", net.name, id]);
    expect(inst.ok(["rm", "--time=0", "-f", ids[0]!])).toBe(`${ids[0]}\n`);
    expect(inst.ok(["rm", "-t", "-1", ids[1]!])).toBe(`${ids[1]}\n`);
    const bad = inst.cli(["rm", "-t", "soon", ids[2]!]);
    expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: 'ctrnet: error: invalid --time "soon": expected seconds, or -1\n' });
    expect(inst.ok(["rm", "--time", "10", ids[2]!])).toBe(`${ids[2]}\n`);
  });

  test("connect takes the lowest ethN no connected network has, one a disconnect freed too (podman 5's getFreeInterfaceName)", () => {
    const names = [`if-a-${hex(3)}`, `if-b-${hex(3)}`, `if-c-${hex(3)}`];
    for (const [i, name] of names.entries()) inst.ok(["network", "create", "--subnet", `10.${150 + i}.${Number.parseInt(hex(1), 16)}.0/24`, name]);
    try {
      const id = `ifn-${hex(4)}`;
      const netns = inst.ok(["create", "--network", `${names[0]},${names[1]}`, id]).trim();
      const links = () => Bun.spawnSync(["nsenter", `--net=${netns}`, "ip", "-o", "link"], { stdout: "pipe" }).stdout.toString().match(/^\d+: (eth\d+)@/gm)?.map((l) => l.split(" ")[1]!.split("@")[0]).sort();
      expect(links()).toEqual(["eth0", "eth1"]);
      inst.ok(["network", "disconnect", names[0]!, id]);
      inst.ok(["network", "connect", names[2]!, id]);
      expect(links()).toEqual(["eth0", "eth1"]);
      // podman's words (e2e connect twice, libpod NetworkDisconnect), the ids as they are
      const twice = inst.cli(["network", "connect", names[2]!, id]);
      expect({ code: twice.code, stderr: twice.stderr }).toEqual({ code: 2, stderr: `ctrnet: error: container ${id} is already connected to network ${names[2]}: network is already connected\n` });
      const notThere = inst.cli(["network", "disconnect", names[0]!, id]);
      expect({ code: notThere.code, stderr: notThere.stderr }).toEqual({ code: 2, stderr: `ctrnet: error: container ${id} is not connected to network ${names[0]}\n` });
      const result = inst.inspect(id);
      expect(Object.keys(result.NetworkSettings.Networks).sort()).toEqual([names[1]!, names[2]!].sort());
      inst.ok(["rm", id]);
    } finally {
      inst.removeAll();
      for (const name of names) inst.cli(["network", "rm", "-f", name]);
    }
  });

  test("a container on another's netns gets that container's /etc files (podman copies them); --dns with container: or none is podman's conflict, exit 2", () => {
    const owner = `own-${hex(3)}`;
    inst.ok(["create", "--network", net.name, "--name", `${owner}-n`, "--dns", "192.0.2.1", "--add-host", "test1:192.0.2.2", owner]);
    const out = inst.ok(["run", "--network", `container:${owner}`, "--", "cat", "/etc/resolv.conf", "/etc/hosts"]);
    expect(out.split("\n").find((l) => l.startsWith("nameserver"))).toBe("nameserver 192.0.2.1");
    expect(out).toContain("192.0.2.2\ttest1\n");
    for (const [mode, flag] of [[`container:${owner}`, "--dns"], ["none", "--dns-search"], [`container:${owner}`, "--dns-option"]] as const) {
      const value = flag === "--dns" ? "1.1.1.1" : flag === "--dns-search" ? "example.org" : "ndots:1";
      const r = inst.cli(["create", "--network", mode, flag, value, `cf-${hex(3)}`]);
      expect({ mode, flag, code: r.code, stderr: r.stderr }).toEqual({ mode, flag, code: 2, stderr: `ctrnet: error: conflicting options: dns and the network mode: ${mode.split(":")[0]}\n` });
    }
  });

  test("network create with one subnet twice or two that overlap: podman's 'duplicate subnet' and 'overlapping subnets'", () => {
    for (const [subnets, words] of [
      [["10.64.0.0/16", "10.64.0.0/16"], "duplicate subnet 10.64.0.0/16"],
      [["fd10:64::/48", "fd10:64::/48"], "duplicate subnet fd10:64::/48"],
      [["10.1.2.0/23", "10.1.3.248/30"], "overlapping subnets 10.1.2.0/23 and 10.1.3.248/30"],
      [["fd20:1::/48", "fd20:1:0:f8::/62"], "overlapping subnets fd20:1::/48 and fd20:1:0:f8::/62"],
    ] as const) {
      const name = `sub-${hex(3)}`;
      const r = inst.cli(["network", "create", ...subnets.flatMap((s) => ["--subnet", s]), name]);
      expect({ subnets, code: r.code, stderr: r.stderr }).toEqual({ subnets, code: 2, stderr: `ctrnet: error: ${words}\n` });
      expect(inst.cli(["network", "exists", name]).code).toBe(1);
    }
  });

  test("inspect's HostConfig: NetworkMode as podman's (bridge for networks, the mode's name otherwise) and PortBindings, the published ports (bats default_host_ips reads it)", () => {
    const id = `hc-${hex(4)}`;
    inst.ok(["create", "--network", net.name, "-p", "127.0.0.1::80", "-p", "8088:81/udp", id]);
    const hostConfig = inst.inspect(id).HostConfig;
    expect(hostConfig.NetworkMode).toBe("bridge");
    expect(Object.keys(hostConfig.PortBindings).sort()).toEqual(["80/tcp", "81/udp"]);
    expect(hostConfig.PortBindings["81/udp"]).toEqual([{ HostIp: "0.0.0.0", HostPort: "8088" }]);
    expect(hostConfig.PortBindings["80/tcp"][0].HostIp).toBe("127.0.0.1");
    expect(inst.ok(["inspect", id, "--format", "{{.HostConfig.PortBindings}}"])).toMatch(/^map\[80\/tcp:\[\{127\.0\.0\.1 \d+\}\] 81\/udp:\[\{0\.0\.0\.0 8088\}\]\]$/m);
    for (const mode of ["none", "host", `container:${id}`]) {
      const other = `hc-${hex(4)}`;
      inst.ok(["create", "--network", mode, other]);
      expect(inst.inspect(other).HostConfig).toEqual({ Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: [], NetworkMode: mode, PortBindings: {}, PublishAllPorts: false });
    }
  });

  test("SCTP ports: podman's info line once a container (e2e forward sctp), nothing at the default level; a missing ns:PATH in podman's faccessat words too", () => {
    const id = `sc-${hex(4)}`;
    const made = inst.cli(["--log-level=info", "create", "--network", net.name, "-p", "80/sctp", "-p", "81/sctp", id]);
    expect(made.code).toBe(0);
    expect(made.stderr.split("Port reservation for SCTP is not supported")).toHaveLength(2);
    expect(Object.keys(inst.inspect(id).NetworkSettings.Ports).sort()).toEqual(["80/sctp", "81/sctp"]);
    const quiet = inst.cli(["run", "--network", net.name, "-p", "82/sctp", "--", "true"]);
    expect({ code: quiet.code, stderr: quiet.stderr }).toEqual({ code: 0, stderr: "" });
    const path = `/run/netns/missing-${hex(4)}`;
    const missing = inst.cli(["run", "--network", `ns:${path}`, "--", "true"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`faccessat ${path}: no such file or directory`);
  });

  test("podman's spellings: the container group (container inspect, port, ps, rm), ps, and -f for inspect's and network inspect's --format", () => {
    const id = `sp-${hex(4)}`;
    inst.ok(["container", "create", "--network", net.name, "-p", "80", id]);
    expect(inst.ok(["container", "inspect", id, "--format", "{{.Id}}"])).toBe(`${id}\n`);
    expect(inst.ok(["inspect", "-f", "{{.Id}}", id])).toBe(`${id}\n`);
    expect(inst.ok(["network", "inspect", "-f", "{{.Name}}", net.name])).toBe(`${net.name}\n`);
    expect(inst.ok(["container", "port", id])).toMatch(/^80\/tcp -> 0\.0\.0\.0:\d+\n$/);
    expect(inst.ok(["ps", "--format", "{{.ID}}"])).toBe(`${id}\n`);
    expect(inst.ok(["container", "ps", "--format", "{{.ID}}"])).toBe(`${id}\n`);
    expect(inst.ok(["container", "rm", id])).toBe(`${id}\n`);
    // hidden from the help, as network's podman spellings are
    expect(inst.ok(["--help"])).not.toMatch(/^\s+container\s/m);
  });

  test("podman's global --noout prints no result; the default network's removal in podman's exact words", () => {
    const name = `no-${hex(3)}`;
    expect(inst.cli(["--noout", "network", "create", name])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(inst.cli(["network", "exists", name]).code).toBe(0);
    expect(inst.cli(["--noout", "network", "rm", "-t", "0", "-f", name])).toEqual({ code: 0, stdout: "", stderr: "" });
    const def = inst.cli(["network", "rm", "-t", "0", "-f", "ctrnet"]);
    expect({ code: def.code, stderr: def.stderr }).toEqual({ code: 2, stderr: "ctrnet: error: default network ctrnet cannot be removed\n" });
  });

  test("podman's --network default and private: the default mode (e2e run network connection with default/private)", () => {
    try {
      for (const mode of ["default", "private"]) {
        const id = `dm-${mode}-${hex(3)}`;
        inst.ok(["create", "--network", mode, id]);
        const result = inst.inspect(id);
        expect({ mode, networkMode: result.NetworkMode, networks: Object.keys(result.NetworkSettings.Networks) }).toEqual({ mode, networkMode: "bridge", networks: ["ctrnet"] });
        inst.ok(["rm", id]);
      }
    } finally {
      // the default network is never removed: its bridge and what it put into ctrnet's table go by hand
      const subnets = (JSON.parse(inst.ok(["network", "inspect", "ctrnet"]))[0].subnets as { subnet: string }[]).map((s) => s.subnet);
      // and its file, else the next command makes its bridge again (reservations after a reboot)
      rmSync(join(inst.env.CTRNET_CNI_CONFIG_DIR!, "ctrnet.conflist"), { force: true });
      run(["ip", "link", "del", "ctrnet0"]);
      removeNetworkFirewall({ bridge: "ctrnet0", subnets });
    }
  });

  test("network create -o metric=N (podman's bridge, macvlan and ipvlan option): the containers' default routes get it; -o com.docker.network.bridge.name as --interface-name", () => {
    const name = `me-${hex(3)}`;
    const bridge = `brm${hex(3)}`;
    inst.ok(["network", "create", "-o", "metric=100", "-o", `com.docker.network.bridge.name=${bridge}`, name]);
    try {
      expect(inst.ok(["network", "inspect", name, "--format", "{{.NetworkInterface}} {{index .Options \"metric\"}}"])).toBe(`${bridge} 100\n`);
      expect(inst.ok(["run", "--network", name, "--", "ip", "route", "show", "default"])).toMatch(/^default via \S+ dev eth0 metric 100 ?$/m);
      const bad = inst.cli(["network", "create", "-o", "metric=x", `bad-${hex(3)}`]);
      expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: "ctrnet: error: invalid --opt metric=x: expected an integer from 0 to 4294967295\n" });
    } finally {
      inst.cli(["network", "rm", "-f", name]);
    }
  });
});
