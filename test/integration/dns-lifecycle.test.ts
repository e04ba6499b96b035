// ctrnet's DNS server through the container lifecycle: `network create` turns it on, the first container on
// such a network starts `ctrnet _dns`, connect/disconnect/rm reconfigure it, the last container stops it. Real
// resolvers (glibc getent, busybox nslookup, dig) ask from inside containers that `ctrnet run` makes, through
// the resolv.conf ctrnet binds over theirs. The host's resolver is a dnsmasq the test runs in a netns of its
// own, named by an /etc/resolv.conf bound over the sandbox's. Everything stays in the test's namespaces.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";
import { createNetns, removeNetns, type Netns } from "../../src/netns/index.ts";
import { withNetns } from "../helpers/netns.ts";
import { BINARY } from "../helpers/binary.ts";
import { hex, Installation, privileged, run } from "./lifecycle-helpers.ts";

const TAG = hex(2);
const UP_LINK = `dnsup${TAG}`;
const UPSTREAM_HOST_SIDE = "10.239.9.1";
const UPSTREAM = "10.239.9.2";

describe.skipIf(!privileged)("ctrnet's DNS server for container names", () => {
  let inst: Installation;
  let upstreamNs: Netns;
  let dnsmasq: Subprocess;
  let resolvConf: string;
  const A = `dnsa-${TAG}`;
  const B = `dnsb-${TAG}`;
  const N = `dnsn-${TAG}`;

  const helperFile = () => join(inst.env.CTRNET_ROOT!, "dns", "helper.json");
  const helperPid = (): number | undefined => (existsSync(helperFile()) ? JSON.parse(readFileSync(helperFile(), "utf8")).pid : undefined);
  const alive = (pid: number | undefined) => pid !== undefined && existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");

  /** A command in a new container on `network`, through the resolv.conf and hosts ctrnet gives it. */
  function inContainer(network: string, argv: string[], extra: string[] = []): { code: number | null; out: string } {
    const r = inst.cli(["run", "--network", network, ...extra, "--", ...argv]);
    return { code: r.code, out: r.stdout + r.stderr };
  }
  /** glibc's lookup of the name's IPv4 address: its address, or the exit status (2: not found). */
  const getent = (network: string, name: string): string | number | null => {
    const r = inContainer(network, ["getent", "ahostsv4", name]);
    return r.code === 0 ? r.out.split(/\s/)[0]! : r.code;
  };
  const dig = (network: string, ...args: string[]) => inContainer(network, ["dig", "+time=10", "+tries=1", ...args]).out;
  const digShort = (network: string, ...args: string[]) => dig(network, "+short", ...args).trim().split("\n").filter(Boolean);
  const status = (out: string) => /status: (\w+)/.exec(out)?.[1];
  const ipOf = (id: string, network: string) => inst.inspect(id).NetworkSettings.Networks[network].IPAddress as string;

  beforeAll(() => {
    inst = new Installation();
    upstreamNs = createNetns();
    run(["ip", "link", "add", UP_LINK, "type", "veth", "peer", "name", "eth0", "netns", upstreamNs.path]);
    run(["ip", "addr", "add", `${UPSTREAM_HOST_SIDE}/24`, "dev", UP_LINK]);
    run(["ip", "link", "set", UP_LINK, "up"]);
    withNetns(upstreamNs.path, () => {
      for (const argv of [["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", `${UPSTREAM}/24`, "dev", "eth0"], ["ip", "link", "set", "eth0", "up"]]) Bun.spawnSync(argv);
    });
    dnsmasq = withNetns(upstreamNs.path, () =>
      Bun.spawn(
        ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces", `--listen-address=${UPSTREAM}`, "--pid-file=", "--user=root", "--group=root", "--address=/outside.test/192.0.2.77"],
        { stdio: ["ignore", "ignore", "ignore"] },
      ),
    );
    // The sandbox's resolver is the test's dnsmasq: what the DNS server forwards to, read at each reload.
    resolvConf = join(inst.dir, "host-resolv.conf");
    writeFileSync(resolvConf, `nameserver ${UPSTREAM}\n`);
    expect(run(["mount", "--bind", resolvConf, "/etc/resolv.conf"]).ok).toBe(true);
    // A on the reference chain, B and N of ctrnet's own plugin type (the default)
    inst.ok(["network", "create", "-o", "plugin=cni", "--subnet", "10.239.1.0/24", "--subnet", "fd39:1::/64", A]);
    inst.ok(["network", "create", "--subnet", "10.239.2.0/24", B]);
    inst.ok(["network", "create", "-o", "plugin=ctrnet", "--subnet", "10.239.3.0/24", N]);
    // A network's bridge (and ctrnet's nftables table) outlive its containers: made here, they belong to
    // the state every test starts from.
    for (const n of [A, B, N]) {
      inst.ok(["create", "--network", n, `warm-${hex(3)}`]);
      inst.removeAll();
    }
  });

  /** Set by a test that damaged a record: drops it whether the test passed or not. */
  let dropDamaged: (() => void) | undefined;

  afterEach(() => {
    dropDamaged?.();
    dropDamaged = undefined;
    inst.removeAll();
    expect(helperPid()).toBeUndefined();
  });

  afterAll(async () => {
    inst?.removeAll();
    for (const n of [A, B, N]) inst?.cli(["network", "rm", "-f", n]);
    run(["nft", "delete", "table", "inet", "ctrnet"]);
    libc.umount2("/etc/resolv.conf", libc.MNT_DETACH);
    dnsmasq?.kill("SIGTERM");
    await dnsmasq?.exited;
    run(["ip", "link", "del", UP_LINK]);
    if (upstreamNs) removeNetns(upstreamNs.path);
    inst?.dispose();
  });

  test("network create turns DNS on as podman (--disable-dns and the default network leave it off)", () => {
    const [info] = JSON.parse(inst.ok(["network", "inspect", A]));
    expect(info.dns_enabled).toBe(true);
    const off = `dnsoff-${TAG}`;
    inst.ok(["network", "create", "--disable-dns", "--subnet", "10.239.4.0/24", off]);
    expect(JSON.parse(inst.ok(["network", "inspect", off]))[0].dns_enabled).toBe(false);
    inst.ok(["create", "--network", off, `off-${hex(3)}`]);
    expect(helperPid()).toBeUndefined();
    inst.removeAll();
    inst.ok(["network", "rm", off]);
  });

  /** A container of mode none whose record is damaged by hand: a command that reads every record warns of it. */
  function damagedRecord(): string {
    const bad = `bad-${hex(3)}`;
    inst.ok(["create", "--network", "none", bad]);
    const db = new Database(join(inst.env.CTRNET_ROOT!, "state.db"));
    try {
      // a supervisor may hold the database for a moment
      db.run("PRAGMA busy_timeout = 10000");
      db.query("UPDATE containers SET ports = '[' WHERE id = ?").run(bad);
    } finally {
      db.close();
    }
    return bad;
  }

  test("a create on a network without DNS reads no other record while the server runs for another network", () => {
    const off = `dnsoff2-${TAG}`;
    inst.ok(["network", "create", "--disable-dns", "--subnet", "10.239.5.0/24", off]);
    inst.ok(["create", "--network", B, `srv-${hex(3)}`]);
    expect(alive(helperPid())).toBe(true);
    // a record damaged by hand: a command that reads every record says so
    const bad = damagedRecord();
    expect(inst.cli(["ls"]).stderr).toContain(`the record of container "${bad}" is damaged`);
    const created = inst.cli(["create", "--network", off, `quiet-${hex(3)}`]);
    expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: "" });
    // rm -f drops the damaged record; gc removes the netns it named
    inst.ok(["rm", "-f", bad]);
    inst.ok(["gc"]);
    inst.removeAll();
    inst.ok(["network", "rm", off]);
  });

  test("a create, connect and disconnect on a DNS network read no other container's record while the server runs; rm stops its names", () => {
    inst.ok(["create", "--network", B, `srv-${hex(3)}`]);
    expect(alive(helperPid())).toBe(true);
    const bad = damagedRecord();
    // rm -f drops the damaged record; gc removes the netns it named
    dropDamaged = () => {
      inst.ok(["rm", "-f", bad]);
      inst.ok(["gc"]);
    };
    expect(inst.cli(["ls"]).stderr).toContain(`the record of container "${bad}" is damaged`);
    const quiet = (argv: string[]) => {
      const r = inst.cli(argv);
      return { code: r.code, stderr: r.stderr };
    };
    const name = `quiet-${hex(3)}`;
    expect(quiet(["create", "--network", B, "--network-alias", "quietly", name])).toEqual({ code: 0, stderr: "" });
    // its names resolve once create returns
    expect(getent(B, "quietly")).toBe(ipOf(name, B));
    expect(quiet(["network", "connect", N, name])).toEqual({ code: 0, stderr: "" });
    expect(getent(N, name)).toBe(ipOf(name, N));
    expect(quiet(["network", "disconnect", N, name])).toEqual({ code: 0, stderr: "" });
    expect(getent(N, name)).toBe(2);
    // (rm reads every record to find containers sharing its netns, DNS or not: only its names are checked here)
    inst.ok(["rm", name]);
    expect(getent(B, name)).toBe(2);
  });

  test("a server of an older ctrnet (its status counts no members, it reads no member files) is replaced by the next create", () => {
    const first = `old-${hex(3)}`;
    inst.ok(["create", "--network", B, first]);
    const before = helperPid();
    const statusFile = join(inst.env.CTRNET_ROOT!, "dns", "config.json.status");
    const { members: _, ...older } = JSON.parse(readFileSync(statusFile, "utf8"));
    writeFileSync(statusFile, JSON.stringify(older));
    const second = `new-${hex(3)}`;
    inst.ok(["create", "--network", B, second]);
    expect(alive(before)).toBe(false);
    expect(alive(helperPid())).toBe(true);
    expect(getent(B, first)).toBe(ipOf(first, B));
    expect(getent(B, second)).toBe(ipOf(second, B));
  });

  test("containers on one network resolve each other by name, alias and short id; resolv.conf names the gateway", () => {
    const web = `${hex(6)}`;
    inst.ok(["create", "--network", A, "--name", "web", "--alias", "www", web]);
    inst.ok(["create", "--network", A, "--name", "db", `db-${hex(3)}`]);
    const pid = helperPid();
    expect(alive(pid)).toBe(true);
    // started at a lower priority, so its start-up yields to the attach; serving, at the normal one
    expect(readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[16]).toBe("0");
    const ip = ipOf(web, A);
    expect(inContainer(A, ["cat", "/etc/resolv.conf"]).out).toBe("search dns.ctrnet\nnameserver 10.239.1.1\nnameserver fd39:1::1\n");
    for (const name of ["web", "www", web.slice(0, 12), "web.dns.ctrnet"]) expect(getent(A, name)).toBe(ip);
    const ns = inContainer(A, ["busybox", "nslookup", "www"]);
    expect(ns.out).toContain(`Address: ${ip}`);
    // create writes the container's files too, for a runtime to bind
    expect(readFileSync(join(inst.env.CTRNET_ROOT!, "containers", web, "resolv.conf"), "utf8")).toBe("search dns.ctrnet\nnameserver 10.239.1.1\nnameserver fd39:1::1\n");
    // one server for everything: a second container did not start another
    expect(helperPid()).toBe(pid);
  });

  test("the first container's first query is answered: no server ran, and its command asks at once", () => {
    for (const network of [B, A]) {
      expect(helperPid()).toBeUndefined();
      // one try, no retry: a server not listening yet is a refused query, not a late answer
      const r = inst.cli(["run", "--network", network, "--name", "first", "--", "dig", "+short", "+tries=1", "+time=2", "first"]);
      expect({ code: r.code, answer: /^10\.239\.[12]\.\d+$/.test(r.stdout.trim()) }).toEqual({ code: 0, answer: true });
    }
  });

  test("two first containers created at once start one server, which answers for both", async () => {
    const ids = [`one-${hex(3)}`, `two-${hex(3)}`];
    const procs = ids.map((id, i) =>
      Bun.spawn([BINARY, "create", "--network", i === 0 ? A : N, "--name", id, id], { env: { ...process.env, ...inst.env }, stdout: "pipe", stderr: "pipe" }),
    );
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect({ codes, stderr: await Promise.all(procs.map((p) => new Response(p.stderr).text())) }).toEqual({ codes: [0, 0], stderr: ["", ""] });
    const servers = Bun.spawnSync(["pgrep", "-f", `_dns --config ${join(inst.env.CTRNET_ROOT!, "dns")}`]).stdout.toString().trim().split("\n").filter(Boolean);
    expect(servers).toEqual([String(helperPid())]);
    expect(getent(A, ids[0]!)).toBe(ipOf(ids[0]!, A));
    expect(getent(N, ids[1]!)).toBe(ipOf(ids[1]!, N));
  });

  test("dig: AAAA, PTR and TCP", () => {
    const web = `web-${hex(3)}`;
    inst.ok(["create", "--network", A, "--name", "web", web]);
    const settings = inst.inspect(web).NetworkSettings.Networks[A];
    expect(digShort(A, "AAAA", "web")).toEqual([settings.GlobalIPv6Address]);
    expect(digShort(A, "-x", settings.IPAddress)).toEqual(["web.", `${web.slice(0, 12)}.`]);
    expect(digShort(A, "+tcp", "web")).toEqual([settings.IPAddress]);
  });

  test("a container on another network cannot resolve them; disconnect and connect take effect at once", () => {
    const web = `web-${hex(3)}`;
    inst.ok(["create", "--network", A, "--name", "web", web]);
    expect(getent(B, "web")).toBe(2);
    expect(status(dig(B, "web.dns.ctrnet"))).toBe("NXDOMAIN");
    inst.ok(["connect", B, web]);
    expect(getent(B, "web")).toBe(ipOf(web, B));
    inst.ok(["disconnect", A, web]);
    expect(getent(A, "web")).toBe(2);
    expect(getent(B, "web")).toBe(ipOf(web, B));
    inst.ok(["connect", "--alias", "later", A, web]);
    expect(getent(A, "later")).toBe(ipOf(web, A));
  });

  test("a network of ctrnet's own plugin type is served too", () => {
    const api = `api-${hex(3)}`;
    inst.ok(["create", "--network", N, "--name", "api", api]);
    expect(getent(N, "api")).toBe(ipOf(api, N));
    expect(getent(A, "api")).toBe(2);
  });

  test("an internal network (ctrnet's plugin): its bridge holds the gateway, names resolve there, nothing is forwarded", () => {
    const I = `dnsi-${TAG}`;
    const C = `dnsc-${TAG}`;
    inst.ok(["network", "create", "--internal", "--subnet", "10.239.5.0/24", I]);
    // the reference chain's internal bridge has no address: DNS off there, with podman 4's warning
    const cni = inst.cli(["network", "create", "-o", "plugin=cni", "--internal", "--subnet", "10.239.6.0/24", C]);
    try {
      expect(cni.code).toBe(0);
      expect(cni.stderr).toContain(`DNS is off on internal network ${C}`);
      const [info] = JSON.parse(inst.ok(["network", "inspect", I]));
      expect({ internal: info.internal, dns: info.dns_enabled }).toEqual({ internal: true, dns: true });
      expect(JSON.parse(inst.ok(["network", "inspect", C]))[0].dns_enabled).toBe(false);
      const srv = `srv-${hex(3)}`;
      inst.ok(["create", "--network", I, "--name", "srv", srv]);
      expect(alive(helperPid())).toBe(true);
      // only the gateway: nothing outside answers a container that reaches nothing outside
      expect(inContainer(I, ["cat", "/etc/resolv.conf"]).out).toBe("search dns.ctrnet\nnameserver 10.239.5.1\n");
      expect(run(["ip", "-4", "-o", "addr", "show", "dev", JSON.parse(inst.ok(["network", "inspect", I]))[0].network_interface]).out).toContain("10.239.5.1/24");
      expect(inContainer(I, ["ip", "route"]).out).not.toContain("default");
      expect(getent(I, "srv")).toBe(ipOf(srv, I));
      // aardvark-dns's rule: a client on internal networks only gets no forwarding (the upstream knows this name)
      expect(status(dig(I, "www.outside.test"))).toBe("NXDOMAIN");
      // the gateway answers, but nothing beyond it does, even through a route the container adds itself
      expect(inContainer(I, ["busybox", "ping", "-c1", "-W2", "10.239.5.1"]).code).toBe(0);
      expect(inContainer(I, ["sh", "-c", `ip route add default via 10.239.5.1 && busybox ping -c1 -W1 ${UPSTREAM}`]).code).not.toBe(0);
      inst.removeAll();
      inst.ok(["create", "--network", C, `c-${hex(3)}`]);
      expect(helperPid()).toBeUndefined();
    } finally {
      inst.removeAll();
      inst.cli(["network", "rm", "-f", I]);
      inst.cli(["network", "rm", "-f", C]);
    }
  });

  test("other names go to the host's resolver; its failure is SERVFAIL at once, not a hang", () => {
    inst.ok(["create", "--network", A, "--name", "web", `web-${hex(3)}`]);
    expect(getent(A, "www.outside.test")).toBe("192.0.2.77");
    // nothing listens there: the upstream's port unreachable comes back, and the server answers SERVFAIL
    writeFileSync(resolvConf, `nameserver ${UPSTREAM_HOST_SIDE}\n`);
    try {
      inst.ok(["connect", B, inst.inspect("web").Id]);
      const out = dig(A, "www.outside.test");
      expect(out).not.toContain("timed out");
      expect(status(out)).toBe("SERVFAIL");
    } finally {
      writeFileSync(resolvConf, `nameserver ${UPSTREAM}\n`);
    }
  });

  test("a container's own --dns on a DNS network (podman with netavark): resolv.conf names the server, which forwards that container's other names to its --dns", () => {
    // the host's resolver answers nothing: only the container's own server can
    writeFileSync(resolvConf, `nameserver ${UPSTREAM_HOST_SIDE}\n`);
    try {
      const own = inContainer(A, ["sh", "-c", "cat /etc/resolv.conf; getent ahostsv4 www.outside.test"], ["--dns", UPSTREAM]);
      expect(own.code).toBe(0);
      expect(own.out).toStartWith("search dns.ctrnet\nnameserver 10.239.1.1\nnameserver fd39:1::1\n");
      expect(own.out).toContain("192.0.2.77");
      // a container without --dns on the same network still asks the host's
      expect(status(dig(A, "www.outside.test"))).toBe("SERVFAIL");
      // the host's options, unless --dns-option replaces them, as podman's (e2e: run with macvlan network)
      writeFileSync(resolvConf, `nameserver ${UPSTREAM_HOST_SIDE}\noptions edns0 trust-ad\n`);
      expect(inContainer(A, ["cat", "/etc/resolv.conf"]).out).toEndWith("\noptions edns0 trust-ad\n");
      expect(inContainer(A, ["cat", "/etc/resolv.conf"], ["--dns-option", "ndots:1", "--dns-search", "."]).out).toBe("nameserver 10.239.1.1\nnameserver fd39:1::1\noptions ndots:1\n");
    } finally {
      writeFileSync(resolvConf, `nameserver ${UPSTREAM}\n`);
      inst.removeAll();
    }
  });

  test("a network's own --dns servers (podman's): the server forwards its containers' names there; network update changes them", () => {
    const D = `dnsd-${TAG}`;
    const off = `dnso-${TAG}`;
    inst.ok(["network", "create", "--subnet", "10.239.6.0/24", "--dns", UPSTREAM, D]);
    inst.ok(["network", "create", "--disable-dns", "--subnet", "10.239.7.0/24", "--dns", "192.0.2.53", "--dns", "192.0.2.54", off]);
    // the host's resolver now answers nothing: only the network's own server can
    writeFileSync(resolvConf, `nameserver ${UPSTREAM_HOST_SIDE}\n`);
    try {
      expect(JSON.parse(inst.ok(["network", "inspect", D]))[0].network_dns_servers).toEqual([UPSTREAM]);
      inst.ok(["create", "--network", D, "--name", "keep", `keep-${hex(3)}`]);
      expect(getent(D, "www.outside.test")).toBe("192.0.2.77");
      // another network's containers still ask the host's
      inst.ok(["create", "--network", B, "--name", "other", `other-${hex(3)}`]);
      expect(status(dig(B, "www.outside.test"))).toBe("SERVFAIL");

      expect(inst.ok(["network", "update", D, "--dns-drop", UPSTREAM])).toBe(`${D}\n`);
      expect("network_dns_servers" in JSON.parse(inst.ok(["network", "inspect", D]))[0]).toBe(false);
      expect(status(dig(D, "www.outside.test"))).toBe("SERVFAIL");
      inst.ok(["network", "update", D, "--dns-add", `${UPSTREAM},192.0.2.99`]);
      expect(JSON.parse(inst.ok(["network", "inspect", D]))[0].network_dns_servers).toEqual([UPSTREAM, "192.0.2.99"]);
      expect(getent(D, "www.outside.test")).toBe("192.0.2.77");

      // bad input: one line, exit 2, nothing changed; a network that is not there exits 1
      const bad = inst.cli(["network", "update", D, "--dns-add", "192.0.2.1", "--dns-add", "nope"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('unable to parse ip "nope" specified in --dns-add');
      // as podman's: dropping a server the network lacks changes nothing
      inst.ok(["network", "update", D, "--dns-drop", "192.0.2.1"]);
      // no flag: nothing to change, as podman's (its name printed); a network not there still exits 1
      expect(inst.ok(["network", "update", D])).toBe(`${D}\n`);
      expect(inst.cli(["network", "update", "nope-net"]).code).toBe(1);
      expect(JSON.parse(inst.ok(["network", "inspect", D]))[0].network_dns_servers).toEqual([UPSTREAM, "192.0.2.99"]);
      const missing = inst.cli(["network", "update", "nope-net", "--dns-add", "1.1.1.1"]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("network not found");
      const def = inst.cli(["network", "update", "ctrnet", "--dns-add", "1.1.1.1"]);
      expect({ code: def.code, stderr: def.stderr.trim() }).toEqual({ code: 2, stderr: "ctrnet: error: default network ctrnet cannot be modified" });

      // a network without ctrnet's DNS: its servers go into resolv.conf instead of the host's
      expect(inContainer(off, ["cat", "/etc/resolv.conf"]).out).toStartWith("nameserver 192.0.2.53\nnameserver 192.0.2.54\n");
    } finally {
      writeFileSync(resolvConf, `nameserver ${UPSTREAM}\n`);
      inst.removeAll();
      inst.cli(["network", "rm", "-f", D, off]);
    }
  });

  test("kill -9 of the server: the next ctrnet command starts it again", () => {
    const web = `web-${hex(3)}`;
    inst.ok(["create", "--network", A, "--name", "web", web]);
    const pid = helperPid()!;
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100 && alive(pid); i++) Bun.sleepSync(10);
    inst.ok(["ls"]);
    const again = helperPid();
    expect(again).not.toBe(pid);
    expect(alive(again)).toBe(true);
    expect(getent(A, "web")).toBe(ipOf(web, A));
  });

  /** The pid of the one supervisor whose record is in dir. */
  const supervisorPid = (dir: string) => JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith(".json"))!), "utf8")).pid as number;
  /** Whether every thread of pid runs at nice 0 (a nice value is a thread's on Linux). */
  const allThreadsAtNormalPriority = (pid: number) =>
    readdirSync(`/proc/${pid}/task`).every((tid) => readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[16] === "0");
  /** ask() until it gives expected, with no ctrnet command run meanwhile (a bound for a broken run, not a timing assertion). */
  const answerAgain = async (ask: () => string, expected: string) => {
    let answer = ask();
    for (const end = Date.now() + 20_000; answer !== expected && Date.now() < end; answer = ask()) await Bun.sleep(50);
    return answer;
  };

  test("kill -9 of the server under a created container: the supervisor starts it again, names resolve with no command run, inspect counts it", async () => {
    const web = `web-${hex(3)}`;
    const netns = inst.ok(["create", "--network", A, "--name", "web", web]).trim();
    const settings = inst.inspect(web).NetworkSettings.Networks[A];
    const ask = () => run(["nsenter", `--net=${netns}`, "dig", "+short", "+time=1", "+tries=1", `@${settings.Gateway}`, "web"]).out.trim();
    expect(ask()).toBe(settings.IPAddress);
    // started at a lower priority, so its start-up yields to the attach; answering, all its threads at the normal one
    const server = helperPid()!;
    for (const end = Date.now() + 20_000; !allThreadsAtNormalPriority(server) && Date.now() < end; ) await Bun.sleep(50);
    expect(allThreadsAtNormalPriority(server)).toBe(true);
    const supervisorsDir = join(inst.env.CTRNET_ROOT!, "supervisors");
    const supervisor = supervisorPid(supervisorsDir);
    expect(alive(supervisor)).toBe(true);
    const pid = helperPid()!;
    process.kill(pid, "SIGKILL");
    expect(await answerAgain(ask, settings.IPAddress)).toBe(settings.IPAddress);
    const again = helperPid();
    expect(again).not.toBe(pid);
    expect(alive(again)).toBe(true);
    expect(inst.inspect(web).Helpers.dnsServer).toMatchObject({ Pid: again, Running: true, Restarts: 1 });
    // rm stops the server, and the supervisor that had only it to watch
    inst.ok(["rm", web]);
    expect(alive(again)).toBe(false);
    expect(alive(supervisor)).toBe(false);
    expect(existsSync(join(inst.env.CTRNET_ROOT!, "dns"))).toBe(false);
    expect(readdirSync(supervisorsDir)).toEqual([]);
  });

  test("kill -9 of the server under a run container: the supervisor starts it again, as for a created one (run's own helpers die with it, the server is every container's); after run nothing is left", async () => {
    const gate = join(inst.dir, `gate-${hex(3)}`);
    writeFileSync(gate, "");
    const proc = Bun.spawn([BINARY, "run", "--network", A, "--name", "runner", "--", "sh", "-c", `while [ -e ${gate} ]; do sleep 0.05; done`], {
      env: { ...process.env, ...inst.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      // the command runs once the container is ready (its address set, the server and its supervisor up)
      const supervisorsDir = join(inst.env.CTRNET_ROOT!, "supervisors");
      const started = () => existsSync(supervisorsDir) && readdirSync(supervisorsDir).some((f) => f.endsWith(".json"));
      let ready: { netns: string; settings: { Gateway: string; IPAddress: string } } | undefined;
      for (const end = Date.now() + 20_000; ready === undefined && Date.now() < end; await Bun.sleep(50)) {
        const found = JSON.parse(inst.cli(["inspect", "runner"]).stdout || "[]")[0];
        const settings = found?.NetworkSettings?.Networks?.[A];
        if (settings?.IPAddress && helperPid() !== undefined && started()) ready = { netns: found.NetworkSettings.SandboxKey, settings };
      }
      const { netns, settings } = ready!;
      const ask = () => run(["nsenter", `--net=${netns}`, "dig", "+short", "+time=1", "+tries=1", `@${settings.Gateway}`, "runner"]).out.trim();
      expect(ask()).toBe(settings.IPAddress);
      const supervisor = supervisorPid(supervisorsDir);
      expect(alive(supervisor)).toBe(true);
      const pid = helperPid()!;
      process.kill(pid, "SIGKILL");
      expect(await answerAgain(ask, settings.IPAddress)).toBe(settings.IPAddress);
      expect(helperPid()).not.toBe(pid);
      const again = helperPid();
      rmSync(gate);
      expect(await proc.exited).toBe(0);
      expect(await new Response(proc.stderr).text()).toBe("");
      // run's teardown stops the server; the supervisor that had only it to watch goes too
      expect(alive(again)).toBe(false);
      for (const end = Date.now() + 20_000; alive(supervisor) && Date.now() < end; ) await Bun.sleep(50);
      expect(alive(supervisor)).toBe(false);
    } finally {
      rmSync(gate, { force: true });
      await proc.exited;
    }
  });

  test("gc stops a server that serves no container any more; nothing is left after the last container", () => {
    const web = `web-${hex(3)}`;
    const netns = inst.ok(["create", "--network", A, "--name", "web", web]).trim();
    const pid = helperPid()!;
    expect(alive(pid)).toBe(true);
    // the container's netns goes behind ctrnet's back: gc tears it down, and with it the server
    libc.umount2(netns, libc.MNT_DETACH);
    run(["rm", "-f", netns]);
    inst.ok(["gc"]);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(inst.env.CTRNET_ROOT!, "dns"))).toBe(false);
    expect(existsSync(join(inst.env.CTRNET_ROOT!, "dns.lock"))).toBe(false);
    expect(run(["ss", "-Hlun", "sport = :53"]).out.trim()).toBe("");
    inst.expectClean();
  });

  test("--dns, --dns-search, --dns-option, --add-host, --hostname, --no-hosts; bad values exit 2 with one line", () => {
    const r = inContainer(A, ["cat", "/etc/resolv.conf", "/etc/hosts"], [
      "--dns", "192.0.2.53", "--dns-search", "example.org", "--dns-option", "ndots:2", "--add-host", "db.local:192.0.2.9", "--add-host", "gw:host-gateway", "--hostname", "box",
    ]);
    expect(r.code).toBe(0);
    // on a DNS network --dns is the server's upstream for this container (podman hands it to aardvark-dns):
    // resolv.conf names the server alone
    expect(r.out).toStartWith("search example.org\nnameserver 10.239.1.1\nnameserver fd39:1::1\noptions ndots:2\n");
    // podman's order: --add-host lines, localhost, the host's address, the container's own
    expect(r.out).toMatch(/\n192\.0\.2\.9\tdb\.local\n10\.239\.1\.1\tgw\n127\.0\.0\.1[ \t]localhost\n(?:::1\tlocalhost\n)?10\.239\.1\.1\thost\.containers\.internal host\.docker\.internal\n10\.239\.1\.\d+\tbox [^\n]*\nfd39:1::\w+\tbox [^\n]*\n$/);
    // behind slirp4netns the host is reached at one of its own addresses (podman's GetLocalIP): the first global IPv4
    const hostIPv4 = /inet (\S+)\//.exec(run(["ip", "-4", "-o", "addr", "show", "scope", "global"]).out)![1]!;
    expect(inst.cli(["run", "--network", "slirp4netns", "--", "cat", "/etc/hosts"]).stdout).toContain(`\n${hostIPv4}\thost.containers.internal host.docker.internal\n`);
    const noHosts = inContainer(A, ["cat", "/etc/hosts"], ["--no-hosts"]);
    expect(noHosts.out).toBe(readFileSync("/etc/hosts", "utf8"));
    for (const [flag, value, words] of [
      ["--dns", "8.8.8", `invalid --dns "8.8.8": 8.8.8 is not an ip address`],
      ["--add-host", "nocolon", `invalid --add-host "nocolon": bad format for add-host: "nocolon" (expected NAME:IP)`],
      ["--add-host", "x:1.2.3", `invalid --add-host "x:1.2.3": invalid IP address in add-host: "1.2.3"`],
      ["--dns-search", "bad_domain", `invalid --dns-search "bad_domain": expected a domain name (or . for none)`],
      ["--hostname", "bad name", `invalid hostname "bad name": expected up to 64 letters, digits, _ . or -, the first a letter or digit`],
    ] as const) {
      for (const cmd of [["run", "--network", A, flag, value, "--", "true"], ["create", "--network", A, flag, value, `bad-${hex(3)}`]]) {
        const bad = inst.cli(cmd);
        expect({ code: bad.code, stderr: bad.stderr }).toEqual({ code: 2, stderr: `ctrnet: error: ${words}\n` });
      }
    }
    expect(inst.cli(["run", "--no-hosts", "--add-host", "a:1.2.3.4", "--", "true"]).stderr).toBe("ctrnet: error: --no-hosts and --add-host cannot be set together\n");
    // --dns none (podman's): ctrnet leaves resolv.conf alone, the host's for run; a runtime gets no file from create
    const none = inContainer(A, ["cat", "/etc/resolv.conf", "/etc/hosts"], ["--dns", "none"]);
    expect(none.code).toBe(0);
    expect(none.out).toStartWith(`nameserver ${UPSTREAM}\n`);
    expect(none.out).toContain("\thost.containers.internal host.docker.internal\n");
    const made = `none-${hex(3)}`;
    inst.ok(["create", "--network", A, "--dns", "none", "--no-hosts", made]);
    expect(readdirSync(join(inst.env.CTRNET_ROOT!, "containers", made))).toEqual([]);
    for (const [args, words] of [
      [["--dns", "none", "--dns", "192.0.2.53"], "--dns none (keep the container's resolv.conf) cannot be given with nameservers"],
      [["--dns", "none", "--dns-option", "ndots:2"], "--dns none (keep the container's resolv.conf) cannot be given with --dns-search or --dns-option"],
    ] as const) {
      expect(inst.cli(["run", ...args, "--", "true"])).toMatchObject({ code: 2, stderr: `ctrnet: error: ${words}\n` });
    }
  });
});
