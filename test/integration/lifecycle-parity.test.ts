// podman behaviours of run/create beyond the basics, through the compiled binary on real networks:
// --expose with -P (free host ports, shown by port and inspect), -p with a mode that has no ports (a
// warning, as podman's, and the container made), --ip with --ip6 on a dual-stack network.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { addressesInside, fetchText, hex, Installation, privileged, startWebServer, stopProcess, type TestNetwork } from "./lifecycle-helpers.ts";

/** `ip -j route` of both families inside a netns, as "DST via GW metric N" lines. */
function routesInside(netnsPath: string): string[] {
  return ["-4", "-6"].flatMap((family) => {
    const r = Bun.spawnSync(["nsenter", `--net=${netnsPath}`, "ip", "-j", family, "route"], { stdout: "pipe" });
    return (JSON.parse(r.stdout.toString() || "[]") as { dst: string; gateway?: string; metric?: number }[])
      .filter((route) => route.gateway !== undefined)
      // IPv6 routes' kernel default metric, 1024, left out
      .map((route) => `${route.dst} via ${route.gateway}${route.metric && route.metric !== 1024 ? ` metric ${route.metric}` : ""}`);
  });
}

describe.skipIf(!privileged)("podman parity of run and create", () => {
  let inst: Installation;
  let net: TestNetwork;

  beforeAll(() => {
    inst = new Installation();
    net = inst.network("parity");
  });

  afterEach(() => {
    inst.removeAll();
    inst.expectClean();
  });

  afterAll(() => inst.dispose());

  test("-P publishes every --expose port no -p covers on a free host port; port and inspect show them", async () => {
    const id = `pa-${hex(4)}`;
    const netns = inst.ok(["create", "--network", net.name, "-P", "--expose", "80", "--expose", "90-91/udp", "-p", "81", id]).trim();
    const lines = inst.ok(["port", id]).trim().split("\n").sort();
    expect(lines).toHaveLength(4);
    const hostPortOf = (what: string) => Number(lines.find((l) => l.startsWith(`${what} -> 0.0.0.0:`))?.split(":")[1]);
    for (const what of ["80/tcp", "81/tcp", "90/udp", "91/udp"]) expect(hostPortOf(what)).toBeGreaterThan(1023);
    expect(new Set(["80/tcp", "81/tcp", "90/udp", "91/udp"].map(hostPortOf)).size).toBe(4);
    const server = await startWebServer(netns, `exposed ${id}`, inst.dir);
    try {
      expect(await fetchText(`http://127.0.0.1:${hostPortOf("80/tcp")}/index.html`)).toBe(`exposed ${id}`);
    } finally {
      await stopProcess(server);
    }
    const ports = inst.inspect(id).NetworkSettings.Ports;
    expect(Object.keys(ports).sort()).toEqual(["80/tcp", "81/tcp", "90/udp", "91/udp"]);
    expect(ports["90/udp"]).toEqual([{ HostIp: "0.0.0.0", HostPort: String(hostPortOf("90/udp")) }]);
  });

  test("--expose without -P publishes nothing; inspect lists it in NetworkSettings.Ports with null and in Config.ExposedPorts with the published ones, as podman's", () => {
    const id = `ex-${hex(4)}`;
    inst.ok(["create", "--network", net.name, "--expose", "8000/tcp", "-p", "8001", id]);
    expect(inst.ok(["port", id]).trim()).toMatch(/^8001\/tcp -> 0\.0\.0\.0:\d+$/);
    const result = inst.inspect(id);
    // e2e container_inspect_test: exposed ports shown, exposed ports include published ports
    expect(Object.keys(result.NetworkSettings.Ports).sort()).toEqual(["8000/tcp", "8001/tcp"]);
    expect(result.NetworkSettings.Ports["8000/tcp"]).toBeNull();
    expect(result.NetworkSettings.Ports["8001/tcp"]).toHaveLength(1);
    expect(result.Config.ExposedPorts).toEqual({ "8000/tcp": {}, "8001/tcp": {} });
    // ls's Ports as podman ps's: the published one, then the exposed one
    expect(inst.ok(["ls", "--format", "{{.ID}} {{.Ports}}"])).toMatch(new RegExp(`^${id} 0\\.0\\.0\\.0:\\d+->8001/tcp, 8000/tcp$`, "m"));
    // host and container:ID: no ports of their own in NetworkSettings.Ports (e2e: --net=host --expose, --net=container --expose)
    const host = `exh-${hex(4)}`;
    inst.ok(["create", "--network", "host", "--expose", "8080/tcp", host]);
    expect(inst.inspect(host).NetworkSettings.Ports).toEqual({});
    expect(inst.inspect(host).Config.ExposedPorts).toEqual({ "8080/tcp": {} });
    const sharer = `exc-${hex(4)}`;
    inst.ok(["create", "--network", `container:${host}`, "--expose", "8090/tcp", sharer]);
    expect(inst.inspect(sharer).NetworkSettings.Ports).toEqual({});
    expect(inst.inspect(sharer).Config.ExposedPorts).toEqual({ "8090/tcp": {} });
    // a container without ports of its own has none, even on another's netns that publishes some
    const bare = `exb-${hex(4)}`;
    inst.ok(["create", "--network", `container:${id}`, bare]);
    expect(inst.inspect(bare).Config).toEqual({ Hostname: bare.slice(0, 12) });
  });

  test("bad --expose exits 2 with podman's words, nothing made", () => {
    const r = inst.cli(["create", "--network", net.name, "--expose", "90/foo", `bad-${hex(3)}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('validating protocols for exposed port 90: unrecognized protocol "foo" in port mapping');
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("-p with --network none, host or ns:PATH: podman's warning naming the mode (bats 'podman run with --net=host and --port prints warning'), and the container is made without ports", () => {
    for (const [mode, nsMode] of [["none", "none"], ["host", "host"], ["ns:/proc/self/ns/net", "path"]]) {
      const id = `np-${nsMode}-${hex(3)}`;
      const r = inst.cli(["create", "--network", mode!, "-p", "8080:80", id]);
      expect({ mode, code: r.code }).toEqual({ mode, code: 0 });
      expect(r.stderr).toBe(`ctrnet: warn: Port mappings have been discarded because "${nsMode}" network namespace mode does not support them\n`);
      expect(inst.ok(["port", id])).toBe("");
      inst.ok(["rm", id]);
    }
    // -P alone has nothing to warn about, as with podman
    const quiet = inst.cli(["create", "--network", "none", "-P", "--expose", "90", `np-q-${hex(3)}`]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    const run = inst.cli(["run", "--network", "none", "-p", "80", "--", "echo", "rand"]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('Port mappings have been discarded because "none" network namespace mode does not support them');
    expect(run.stdout).toBe("rand\n");
    const owner = `np-owner-${hex(3)}`;
    inst.ok(["create", "--network", "none", owner]);
    const shared = inst.cli(["run", "--network", `container:${owner}`, "-p", "8080", "--", "true"]);
    expect(shared.code).toBe(0);
    expect(shared.stderr).toContain('Port mappings have been discarded because "container" network namespace mode does not support them');
  });

  test("--ip with --ip6 on a dual-stack network: both addresses, both checked", () => {
    const name = `lc-ds-${hex(3)}`;
    const octet = 100 + (Number.parseInt(hex(1), 16) % 100);
    const v4 = `10.${octet}.77`;
    const v6 = `fd42:a${hex(1)}:b${hex(1)}::`; // no leading zero: compared as text
    inst.ok(["network", "create", "--subnet", `${v4}.0/24`, "--subnet", `${v6}/64`, name]);
    try {
      const id = `ds-${hex(4)}`;
      const netns = inst.ok(["create", "--network", name, "--ip", `${v4}.20`, "--ip6", `${v6}20`, id]).trim();
      const inside = addressesInside(netns).eth0!;
      expect(inside.inet).toContain(`${v4}.20/24`);
      const settings = inst.inspect(id).NetworkSettings.Networks[name];
      expect(settings.IPAddress).toBe(`${v4}.20`);
      expect(settings.GlobalIPv6Address).toBe(`${v6}20`);
      // the same pair again: the IPv6 one is taken too
      const again = inst.cli(["create", "--network", name, "--ip", `${v4}.21`, "--ip6", `${v6}20`, `ds2-${hex(3)}`]);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain(`IPAM error: requested ip address ${v6}20 is already allocated to container ID `);
      const outside = inst.cli(["create", "--network", name, "--ip", `${v4}.22`, "--ip6", "fd99::5", `ds3-${hex(3)}`]);
      expect(outside.code).toBe(2);
      expect(outside.stderr).toContain("requested static ip fd99::5 not in any subnet on network");
      inst.ok(["rm", id]);

      // connect takes both too
      const c = `dc-${hex(4)}`;
      inst.ok(["create", "--network", net.name, c]);
      inst.ok(["connect", "--ip", `${v4}.30`, "--ip6", `${v6}30`, name, c]);
      const connected = inst.inspect(c).NetworkSettings.Networks[name];
      expect([connected.IPAddress, connected.GlobalIPv6Address]).toEqual([`${v4}.30`, `${v6}30`]);
      inst.ok(["rm", c]);
    } finally {
      inst.cli(["network", "rm", "-f", name]);
    }
  });

  for (const plugin of ["ctrnet", "cni"] as const) {
    test(`network create --route and -o no_default_route (-o plugin=${plugin}): the container gets the static routes, and no default route`, () => {
      const octet = 100 + (Number.parseInt(hex(1), 16) % 100);
      const prefix = `10.${octet}.${Number.parseInt(hex(1), 16)}`;
      const v6 = `fd43:a${hex(1)}:b${hex(1)}::`; // no leading zero: compared as text
      const routed = `lc-rt-${hex(3)}`;
      const bare = `lc-nd-${hex(3)}`;
      const opts = plugin === "cni" ? ["-o", "plugin=cni"] : [];
      inst.ok(["network", "create", ...opts, "--subnet", `${prefix}.0/25`, "--subnet", `${v6}/64`, "--route", `10.201.0.0/16,${prefix}.5,7`, "--route", `fd44::/64,${v6}5`, routed]);
      inst.ok(["network", "create", ...opts, "--subnet", `${prefix}.128/25`, "-o", "no_default_route=true", "--route", `10.202.0.0/16,${prefix}.130`, bare]);
      try {
        const info = JSON.parse(inst.ok(["network", "inspect", routed]))[0];
        expect(info.routes).toEqual([
          { destination: "10.201.0.0/16", gateway: `${prefix}.5`, metric: 7 },
          { destination: "fd44::/64", gateway: `${v6}5` },
        ]);
        expect(inst.ok(["network", "inspect", "--format", "{{range .Routes}}{{.Destination}} via {{.Gateway}};{{end}}", routed])).toBe(`10.201.0.0/16 via ${prefix}.5;fd44::/64 via ${v6}5;\n`);
        expect(JSON.parse(inst.ok(["network", "inspect", bare]))[0].options).toEqual({ no_default_route: "true", ...(plugin === "cni" ? { plugin: "cni" } : {}) });

        const a = `rt-${hex(4)}`;
        const netnsA = inst.ok(["create", "--network", routed, a]).trim();
        const routes = routesInside(netnsA);
        expect(routes).toContain(`default via ${prefix}.1`);
        expect(routes).toContain(`default via ${v6}1`);
        expect(routes.find((r) => r.startsWith("10.201.0.0/16 via"))).toBe(`10.201.0.0/16 via ${prefix}.5${plugin === "ctrnet" ? " metric 7" : ""}`);
        // the reference plugins (1.1) carry no metric
        expect(routes).toContain(`fd44::/64 via ${v6}5`);

        const b = `nd-${hex(4)}`;
        const netnsB = inst.ok(["create", "--network", bare, b]).trim();
        expect(routesInside(netnsB)).toEqual([`10.202.0.0/16 via ${prefix}.130`]);
        inst.ok(["rm", a, b]);
      } finally {
        inst.cli(["network", "rm", "-f", routed, bare]);
      }
    });
  }

  test("bad --route values exit 2 with podman's words, and no network is made", () => {
    const name = `lc-bad-${hex(3)}`;
    for (const [route, message] of [
      ["10.1.0.0/16", "invalid route: 10.1.0.0/16: Format: --route <destination in CIDR>,<gateway>,<metric (optional)>"],
      ["fd00:1::/64,fd00:8::1", "route gateway fd00:8::1 is of an IP family no subnet of the network has"],
      ["10.1.0.0/16,10.251.0.5,x", "invalid route metric x"],
    ] as const) {
      const r = inst.cli(["network", "create", "--subnet", "10.251.0.0/24", "--route", route, name]);
      expect({ route, code: r.code }).toEqual({ route, code: 2 });
      expect(r.stderr).toContain(message);
      expect(inst.cli(["network", "exists", name]).code).toBe(1);
    }
  });
});
