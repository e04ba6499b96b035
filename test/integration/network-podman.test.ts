// ctrnet's networks side by side with podman 4.3.1's (CNI backend) on one config directory: podman is the
// oracle. Each world is a config dir both tools use (podman through a containers.conf of its own, with its
// own --root and --runroot), so the two see each other's networks as they would on a shared host.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createContext } from "../../src/lifecycle/context.ts";
import { parseCidr } from "../../src/ip/codec.ts";
import { ensureDefaultNetwork, type NetworkInspectInfo } from "../../src/networks/index.ts";
import { subnetsOverlap } from "../../src/schema/ip.ts";
import { type CliResult, ctrnet, ensureBinary } from "../helpers/binary.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";
import { privileged, run } from "./cni-helpers.ts";

const runnable = privileged && Bun.which("podman") !== null;
const top = scratchPath("ctrnet-network-podman-");

interface Subnet {
  subnet: string;
  gateway?: string;
  lease_range?: { start_ip?: string; end_ip?: string };
}

interface World {
  confDir: string;
  ctrnet(args: string[]): CliResult;
  /** ctrnet without the chain option: networks of ctrnet's own plugin type. */
  native(args: string[]): CliResult;
  podman(args: string[]): CliResult;
  /** `network inspect NAME` of one tool, which must succeed. */
  inspect(tool: "ctrnet" | "podman", name: string): { id: string; name: string; subnets: Subnet[] };
  conflist(name: string): { plugins: { ipam: { ranges: Record<string, string>[][] } }[] };
}

let worlds = 0;
const runroots: string[] = [];
function world(): World {
  const dir = join(top, `w${++worlds}`);
  const confDir = join(dir, "conf");
  mkdirSync(confDir, { recursive: true });
  const env = { CTRNET_CNI_CONFIG_DIR: confDir, CTRNET_CNI_CACHE_DIR: join(dir, "cache"), CTRNET_ROOT: join(dir, "root") };
  // ctrnet installed as a CNI plugin where podman looks, as on a host where both share networks: podman
  // skips a conflist whose plugin it cannot find
  const plugins = join(dir, "plugins");
  expect(ctrnet(["cni", "install", "--dir", plugins], env).code).toBe(0);
  const containersConf = join(dir, "containers.conf");
  writeFileSync(containersConf, `[network]\nnetwork_backend = "cni"\nnetwork_config_dir = "${confDir}"\ncni_plugin_dirs = ["${plugins}", "/usr/lib/cni"]\n`);
  // podman refuses a runroot longer than 50 characters; the runner's /run is a tmpfs of the test's own.
  const runroot = `/run/ctrnet-test-podman-net${worlds}`;
  runroots.push(runroot);
  const podmanArgs = ["--root", join(dir, "podman-root"), "--runroot", runroot, "--tmpdir", join(dir, "podman-tmp")];
  const w: World = {
    confDir,
    // podman 4's CNI backend reads the subnets of bridge conflists only: a network of ctrnet's own type
    // (the default) shows there as driver "ctrnet" with none, so the networks both must read are the chain's
    ctrnet: (args) => ctrnet(args[0] === "network" && args[1] === "create" ? ["network", "create", "-o", "plugin=cni", ...args.slice(2)] : args, env),
    native: (args) => ctrnet(args, env),
    podman(args) {
      // vfs: the overlay driver bind-mounts its directory, a mount that would outlive the test.
      const r = Bun.spawnSync(["podman", ...podmanArgs, "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "file", ...args], {
        env: { ...process.env, CONTAINERS_CONF: containersConf },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
    },
    inspect(tool, name) {
      const r = tool === "ctrnet" ? w.ctrnet(["network", "inspect", name]) : w.podman(["network", "inspect", name]);
      expect({ tool, name, code: r.code, stderr: r.stderr }).toEqual({ tool, name, code: 0, stderr: "" });
      return (JSON.parse(r.stdout) as NetworkInspectInfo[])[0]!;
    },
    conflist: (name) => JSON.parse(readFileSync(join(confDir, `${name}.conflist`), "utf8")),
  };
  return w;
}

/** The same network made by each tool in a world of its own: both start from the same empty directory. */
function bothCreate(args: string[]): { ctrnet: Subnet[]; podman: Subnet[] } {
  const [c, p] = [world(), world()];
  expect(c.ctrnet(["network", "create", ...args, "n"])).toMatchObject({ code: 0, stderr: "" });
  expect(p.podman(["network", "create", ...args, "n"])).toMatchObject({ code: 0, stderr: "" });
  return { ctrnet: c.inspect("ctrnet", "n").subnets, podman: p.inspect("podman", "n").subnets };
}

describe.skipIf(!runnable)("networks beside podman's", () => {
  beforeAll(() => {
    makeScratch(top);
    ensureBinary();
  });

  afterAll(() => {
    for (const r of runroots) rmSync(r, { recursive: true, force: true });
    rmSync(top, { recursive: true, force: true });
  });

  test("both tools show the same id for a network either made, and find it by a unique id prefix", () => {
    const w = world();
    expect(w.ctrnet(["network", "create", "fromctrnet"]).code).toBe(0);
    expect(w.podman(["network", "create", "frompodman"]).code).toBe(0);
    for (const name of ["fromctrnet", "frompodman"]) {
      const id = w.inspect("podman", name).id;
      expect(w.inspect("ctrnet", name).id).toBe(id);
      expect(w.inspect("ctrnet", id.slice(0, 5)).name).toBe(name);
      expect(w.inspect("podman", id.slice(0, 5)).name).toBe(name);
    }
    const ls = (tool: "ctrnet" | "podman") =>
      w[tool](["network", "ls", "--filter", "name=^from"])
        .stdout.trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/).slice(0, 2).join(" "))
        .sort();
    expect(ls("ctrnet")).toEqual(ls("podman"));
  });

  test("an ambiguous id prefix fails in both with podman's words; so do an unknown network and a duplicate name", () => {
    const w = world();
    const names = Array.from({ length: 18 }, (_, i) => `amb${i}`);
    for (const n of names) expect(w.ctrnet(["network", "create", "--subnet", `10.${110 + names.indexOf(n)}.0.0/24`, n]).code).toBe(0);
    const ids = names.map((n) => w.inspect("podman", n).id);
    const digit = [..."0123456789abcdef"].find((d) => ids.filter((id) => id.startsWith(d)).length > 1)!;
    const words = `more than one result for network ID ${digit}`;
    expect(w.podman(["network", "inspect", digit]).stderr).toContain(words);
    const mine = w.ctrnet(["network", "inspect", digit]);
    expect({ code: mine.code, stderr: mine.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(words) });

    // rm is podman's: an unknown network exits 1; inspect prints what it found (nothing), then fails
    for (const [args, code, theirs] of [[["network", "inspect", "nope"], 1, 125], [["network", "rm", "nope"], 1, 1]] as const) {
      // podman's words, then where ctrnet looked
      expect(w.podman([...args])).toMatchObject({ code: theirs, stderr: expect.stringContaining("unable to find network with name or ID nope: network not found") });
      expect(w.ctrnet([...args])).toMatchObject({ code, stderr: expect.stringMatching(/^ctrnet: error: .*unable to find network with name or ID nope: network not found in \S+\n$/) });
    }
    expect(w.podman(["network", "create", "amb0"]).stderr).toContain("network name amb0 already used: network already exists");
    expect(w.ctrnet(["network", "create", "amb0"])).toEqual({ code: 2, stdout: "", stderr: "ctrnet: error: network name amb0 already used: network already exists amb0\n" });
  });

  test("both list their default network before it is used, without writing it; filters and prune --filter as podman's", () => {
    const w = world();
    const defaults = { ctrnet: "ctrnet", podman: "podman" } as const;
    for (const tool of ["ctrnet", "podman"] as const) {
      expect(w[tool](["network", "ls", "-q"])).toMatchObject({ code: 0, stdout: `${defaults[tool]}\n` });
      expect(w[tool](["network", "exists", defaults[tool]]).code).toBe(0);
      expect(w.inspect(tool, defaults[tool]).name).toBe(defaults[tool]);
      // podman's default is kept from rm; both say so in podman's words (podman 125, ctrnet's bad input 2)
      expect(w[tool](["network", "rm", defaults[tool]])).toMatchObject({ code: tool === "ctrnet" ? 2 : 125, stderr: expect.stringContaining(`default network ${defaults[tool]} cannot be removed`) });
    }
    expect(readdirSync(w.confDir).filter((f) => f.endsWith(".conflist"))).toEqual([]);
    // bad filters: the same words in both
    for (const [filter, words] of [
      ["namr=ab", 'invalid filter "namr"'],
      ["dangling=foo", 'invalid dangling filter value "foo"'],
    ] as const) {
      for (const tool of ["ctrnet", "podman"] as const) {
        expect(w[tool](["network", "ls", "--filter", filter])).toMatchObject({ code: tool === "ctrnet" ? 2 : 125, stderr: expect.stringContaining(words) });
      }
    }
    for (const tool of ["ctrnet", "podman"] as const) {
      expect(w[tool](["network", "ls", "--filter", "until=1", "--filter", "until=2"]).stderr).toContain("specify exactly one timestamp for until");
      expect(w[tool](["network", "prune", "-f", "--filter", "dangling=true"]).stderr).toContain('invalid filter "dangling"');
      expect(w[tool](["network", "create", `${tool}-a`]).code).toBe(0);
      // until: networks created before the time; nothing was made before 1970+50 s
      expect(w[tool](["network", "ls", "-q", "--filter", "until=50"])).toMatchObject({ code: 0, stdout: "" });
      expect(w[tool](["network", "prune", "-f", "--filter", "until=50"])).toMatchObject({ code: 0, stdout: "" });
      expect(w[tool](["network", "prune", "-f", "--filter", "until=5000000000000"])).toMatchObject({ code: 0, stdout: `${tool}-a\n` });
      expect(w[tool](["network", "ls", "-q"]).stdout).toBe(`${defaults[tool]}\n`);
    }
  });

  test("the reserved names are refused by both, in podman's words", () => {
    const w = world();
    for (const name of ["none", "host", "bridge", "private", "slirp4netns", "container", "ns"]) {
      const words = `cannot create network with name "${name}" because it conflicts with a valid network mode`;
      expect(w.podman(["network", "create", name]).stderr).toContain(words);
      expect(w.ctrnet(["network", "create", name])).toEqual({ code: 2, stdout: "", stderr: `ctrnet: error: ${words}\n` });
    }
    // only the default network, listed as podman lists its own before it is used
    expect(w.ctrnet(["network", "ls", "-q"]).stdout).toBe("ctrnet\n");
    expect(readdirSync(w.confDir).filter((f) => f.startsWith("ctrnet"))).toEqual([]);
  });

  test("ctrnet's default network keeps clear of podman's 10.88.0.0/16 and of podman's networks; podman's new networks keep clear of ctrnet's chain networks", async () => {
    const w = world();
    const podmanDefault = w.inspect("podman", "podman");
    expect(podmanDefault.subnets).toEqual([{ subnet: "10.88.0.0/16", gateway: "10.88.0.1" }]);
    expect(w.podman(["network", "create", "p1"]).code).toBe(0);
    // `network create` leaves the default network alone; using it makes it.
    expect(w.ctrnet(["network", "create", "c1"]).code).toBe(0);
    expect(existsSync(join(w.confDir, "ctrnet.conflist"))).toBe(false);
    expect(w.podman(["network", "create", "p2"]).code).toBe(0);
    const ctx = createContext({ cniConfigDir: w.confDir, cniCacheDir: join(w.confDir, "..", "cache"), root: join(w.confDir, "..", "root") });
    try {
      expect(await ensureDefaultNetwork(ctx)).toBe(true);
    } finally {
      ctx.close();
    }
    const subnets = ["podman", "p1", "c1", "p2"].map((n) => [n, w.inspect("podman", n).subnets.map((s) => s.subnet)] as const);
    const ctrnetDefault = w.inspect("ctrnet", "ctrnet").subnets.map((s) => s.subnet);
    const found: Record<string, readonly string[]> = { ...Object.fromEntries(subnets), ctrnet: ctrnetDefault };
    expect(found).toEqual({
      podman: ["10.88.0.0/16"],
      p1: ["10.89.0.0/24"],
      c1: ["10.89.1.0/24"],
      p2: ["10.89.2.0/24"],
      ctrnet: ["10.89.3.0/24"],
    });
    const all = [...subnets, ["ctrnet", ctrnetDefault] as const];
    for (const [i, [a, sa]] of all.entries()) {
      for (const [b, sb] of all.slice(i + 1)) {
        expect({ a, b, overlap: subnetsOverlap(parseCidr(sa[0]!)!, parseCidr(sb[0]!)!) }).toEqual({ a, b, overlap: false });
      }
    }
    // The default network is served by ctrnet's own plugin: podman 4's CNI backend lists it by its type and
    // reads no subnets of it (it picks its own clear of the bridge's address once a container made it).
    expect(w.inspect("podman", "ctrnet")).toMatchObject({ driver: "ctrnet" });
    expect(w.inspect("ctrnet", "ctrnet").id).toBe(w.inspect("podman", "ctrnet").id);
    // its bridge holds the gateway from creation on (see the next test); the default network has no `rm`
    expect(run(["ip", "link", "del", "ctrnet0"]).ok).toBe(true);
  });

  test("podman keeps clear of the subnets of ctrnet's own networks: their bridges hold the gateway from network create on", () => {
    const w = world();
    const bridgeOf = (name: string) => w.inspect("ctrnet", name) as unknown as { network_interface: string };
    const subnetOf = (tool: "ctrnet" | "podman", name: string) => w.inspect(tool, name).subnets.map((s) => s.subnet);
    try {
      expect(w.native(["network", "create", "nat1"])).toMatchObject({ code: 0, stderr: "" });
      expect(subnetOf("ctrnet", "nat1")).toEqual(["10.89.0.0/24"]);
      // podman 4.3.1 reads no subnet from a network of type ctrnet; without the bridge it picked 10.89.0.0/24
      expect(w.inspect("podman", "nat1")).toMatchObject({ driver: "ctrnet" });
      expect(w.inspect("podman", "nat1").subnets).toBeUndefined();
      expect(w.podman(["network", "create", "p1"])).toMatchObject({ code: 0 });
      expect(subnetOf("podman", "p1")).toEqual(["10.89.1.0/24"]);
      const bridge = bridgeOf("nat1").network_interface;
      // down, with the gateway: no route into the subnet until a container comes
      const link = JSON.parse(run(["ip", "-j", "addr", "show", "dev", bridge]).out)[0];
      expect({ up: link.flags.includes("UP"), addresses: link.addr_info.map((a: { local: string; prefixlen: number }) => `${a.local}/${a.prefixlen}`) }).toEqual({
        up: false,
        addresses: ["10.89.0.1/24"],
      });

      // after a reboot the bridge is gone; ctrnet's next network create makes it again
      expect(run(["ip", "link", "del", bridge]).ok).toBe(true);
      expect(w.native(["network", "create", "nat2"])).toMatchObject({ code: 0, stderr: "" });
      expect(run(["ip", "-o", "addr", "show", "dev", bridge]).out).toContain("10.89.0.1/24");
      expect(w.podman(["network", "create", "p2"])).toMatchObject({ code: 0 });
      const taken = [...subnetOf("ctrnet", "nat1"), ...subnetOf("ctrnet", "nat2"), ...subnetOf("podman", "p1")];
      expect(taken).not.toContain(subnetOf("podman", "p2")[0]);

      // an internal network has no gateway on its bridge, so nothing shows podman its subnet: doctor says so
      expect(w.native(["network", "create", "--internal", "--subnet", "10.89.9.0/24", "inner"])).toMatchObject({ code: 0 });
      const doctor = JSON.parse(w.native(["doctor", "--format", "json"]).stdout) as { check: string; status: string; detail: string }[];
      expect(doctor.filter((f) => f.check === "podman")).toEqual([
        { check: "podman", status: "info", detail: expect.stringContaining("network inner (internal) holds no address on the host: podman 4's CNI backend cannot see its subnet 10.89.9.0/24") },
      ]);
    } finally {
      for (const n of ["nat1", "nat2", "inner"]) w.native(["network", "rm", n]);
    }
    expect(run(["ip", "-o", "link", "show", "type", "bridge"]).out).toBe("");
  });

  test("create parsing matches podman's: paired gateways, ip ranges, host bits, --ipv6 with an IPv6 subnet only", () => {
    const cases = [
      ["--subnet", "10.11.12.0/24", "--ip-range", "10.11.12.0/26"],
      ["--subnet", "10.11.12.0/24", "--ip-range", "10.11.12.64/26"],
      ["--subnet", "10.12.0.0/24", "--gateway", "10.12.0.254", "--subnet", "fd12::/64", "--gateway", "fd12::fe"],
      ["--subnet", "10.12.0.0/24", "--subnet", "10.13.0.0/24", "--gateway", "10.12.0.9,10.13.0.9", "--ip-range", "10.12.0.64/26"],
      ["--subnet", "10.50.0.9/24", "--subnet", "fd50::5/64"],
      ["--ipv6", "--subnet", "fd33::/64"],
    ];
    for (const args of cases) {
      const { ctrnet: mine, podman: theirs } = bothCreate(args);
      expect({ args, subnets: mine }).toEqual({ args, subnets: theirs });
    }
  });

  test("the conflists both write for --ip-range hold the same range", () => {
    const [c, p] = [world(), world()];
    const args = ["network", "create", "--subnet", "10.11.12.0/24", "--ip-range", "10.11.12.0/26", "r"];
    expect(c.ctrnet(args).code).toBe(0);
    expect(p.podman(args).code).toBe(0);
    const range = (w: World) => {
      const { subnet, rangeStart, rangeEnd, gateway } = w.conflist("r").plugins[0]!.ipam.ranges[0]![0]!;
      return { subnet, rangeStart, rangeEnd, gateway };
    };
    expect(range(c)).toEqual(range(p));
    expect(range(c)).toEqual({ subnet: "10.11.12.0/24", rangeStart: "10.11.12.1", rangeEnd: "10.11.12.63", gateway: "10.11.12.1" });
  });

  test("--ipv6 alone: both pick 10.89.0.0/24 and a random unique local /64", () => {
    const { ctrnet: mine, podman: theirs } = bothCreate(["--ipv6"]);
    const shape = [
      { subnet: "10.89.0.0/24", gateway: "10.89.0.1" },
      { subnet: expect.stringMatching(/^fd[0-9a-f]{2}(:[0-9a-f]{1,4}){0,3}::\/64$/), gateway: expect.stringMatching(/^fd[0-9a-f:]+::1$/) },
    ];
    expect(theirs).toEqual(shape);
    expect(mine).toEqual(shape);
    const again = bothCreate(["--ipv6"]).ctrnet;
    expect(again[1]!.subnet).not.toBe(mine[1]!.subnet);
  });
});
