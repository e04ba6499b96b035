// ctrnet's DNS server end to end: dist/ctrnet _dns on two bridges' gateway addresses, "containers" as netns on
// veths, real resolvers asking from inside them (dig, busybox nslookup, glibc getent), and dnsmasq in its own
// netns as the upstream. Everything stays inside the test's private network namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { readDnsStatus, updateDnsServer, waitForDnsStatus, writeDnsConfig, writeDnsMember } from "../../src/drivers/dns/config.ts";
import { createNetns, removeNetns, type Netns } from "../../src/netns/index.ts";
import type { DnsConfigInput, DnsNetwork } from "../../src/schema/dns.ts";
import { ensureBinary } from "../helpers/binary.ts";
import { withNetns } from "../helpers/netns.ts";
import { makeScratch, scratchPath } from "../helpers/scratch.ts";

const TAG = process.pid % 100000;
const BR_A = `dnsa${TAG}`;
const BR_B = `dnsb${TAG}`;
const UP_LINK = `dnsu${TAG}`;
const GW_A = "10.231.0.1";
const GW_A6 = "fd31::1";
const GW_B = "10.232.0.1";
const UPSTREAM_HOST_SIDE = "10.233.0.1";
const UPSTREAM = "10.233.0.2";
/** A second dnsmasq that validates DNSSEC against a trust anchor nothing here is signed with: SERVFAIL for all. */
const BOGUS_UPSTREAM = "10.233.0.3";
const ROOT_TRUST_ANCHOR = ".,20326,8,2,E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";
const dir = scratchPath("ctrnet-dns-");
const CONFIG = `${dir}/state/dns.json`;
const LONG = "x".repeat(200);

interface Container {
  name: string;
  id: string;
  aliases: string[];
  ipv4: string;
  ipv6?: string;
  ns?: Netns;
}

const web: Container = { name: "web", id: "0123456789ab", aliases: ["www"], ipv4: "10.231.0.2", ipv6: "fd31::2" };
const db: Container = { name: "db", id: "abcdef012345", aliases: ["database"], ipv4: "10.231.0.3", ipv6: "fd31::3" };
const other: Container = { name: "other", id: "fedcba987654", aliases: [], ipv4: "10.232.0.2" };

let binary: string;
let helper: Subprocess<"ignore", "ignore", "pipe">;
let helperLog = "";
let dnsmasq: Subprocess;
let validating: Subprocess;
let upstreamNs: Netns;
const links: string[] = [];

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
}

function inNetns(ns: Netns, argv: string[]): { code: number | null; out: string } {
  const r = withNetns(ns.path, () => Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" }));
  return { code: r.exitCode, out: r.stdout.toString() + r.stderr.toString() };
}

/** dig from inside a container, generous timeout and one try: a reply is the server's, a hang shows as "timed out". */
function dig(c: Container, ...args: string[]): string {
  return inNetns(c.ns!, ["dig", "+time=10", "+tries=1", `@${c === other ? GW_B : GW_A}`, ...args]).out;
}
const short = (c: Container, ...args: string[]) => dig(c, "+short", ...args).trim().split("\n").filter(Boolean);
const status = (out: string) => /status: (\w+)/.exec(out)?.[1];

function bridge(name: string, v4: string, v6?: string): void {
  run(["ip", "link", "add", name, "type", "bridge"]);
  links.push(name);
  run(["ip", "addr", "add", v4, "dev", name]);
  if (v6) run(["ip", "-6", "addr", "add", v6, "dev", name, "nodad"]);
  run(["ip", "link", "set", name, "up"]);
}

function plug(c: Container, br: string, prefix: number): void {
  c.ns = createNetns();
  const host = `${br}${c.name.slice(0, 2)}`;
  run(["ip", "link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", c.ns.path]);
  links.push(host);
  run(["ip", "link", "set", host, "master", br, "up"]);
  inNetns(c.ns, ["ip", "link", "set", "lo", "up"]);
  inNetns(c.ns, ["ip", "addr", "add", `${c.ipv4}/${prefix}`, "dev", "eth0"]);
  if (c.ipv6) inNetns(c.ns, ["ip", "-6", "addr", "add", `${c.ipv6}/64`, "dev", "eth0", "nodad"]);
  inNetns(c.ns, ["ip", "link", "set", "eth0", "up"]);
}

const entry = (c: Container) => ({ name: c.name, id: c.id, aliases: c.aliases, ipv4: [c.ipv4], ipv6: c.ipv6 ? [c.ipv6] : [] });

function networks(members: Container[]): DnsNetwork[] {
  return [
    { name: "front", gateways: [GW_A, GW_A6], subnets: ["10.231.0.0/24", "fd31::/64"], internal: false, containers: members.filter((c) => c !== other).map(entry) },
    { name: "back", gateways: [GW_B], subnets: ["10.232.0.0/24"], internal: false, containers: members.filter((c) => c === other).map(entry) },
  ];
}

const config = (members: Container[], upstream = UPSTREAM): Omit<DnsConfigInput, "generation"> => ({
  networks: networks(members),
  upstreams: [{ address: upstream }],
});

const reconfigure = (members: Container[], upstream?: string) => updateDnsServer(CONFIG, helper.pid, config(members, upstream));

beforeAll(async () => {
  binary = ensureBinary();
  makeScratch(dir);
  bridge(BR_A, `${GW_A}/24`, `${GW_A6}/64`);
  bridge(BR_B, `${GW_B}/24`);
  plug(web, BR_A, 24);
  plug(db, BR_A, 24);
  plug(other, BR_B, 24);

  upstreamNs = createNetns();
  run(["ip", "link", "add", UP_LINK, "type", "veth", "peer", "name", "eth0", "netns", upstreamNs.path]);
  links.push(UP_LINK);
  run(["ip", "addr", "add", `${UPSTREAM_HOST_SIDE}/24`, "dev", UP_LINK]);
  run(["ip", "link", "set", UP_LINK, "up"]);
  inNetns(upstreamNs, ["ip", "link", "set", "lo", "up"]);
  inNetns(upstreamNs, ["ip", "addr", "add", `${UPSTREAM}/24`, "dev", "eth0"]);
  inNetns(upstreamNs, ["ip", "addr", "add", `${BOGUS_UPSTREAM}/24`, "dev", "eth0"]);
  inNetns(upstreamNs, ["ip", "link", "set", "eth0", "up"]);
  const dnsmasqArgv = [
    "dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces", `--listen-address=${UPSTREAM}`,
    "--pid-file=", "--user=root", "--group=root", "--local=/test/", "--address=/example.test/192.0.2.10",
    // Four TXT records, about 850 octets: more than the 512 dnsmasq sends over UDP with --edns-packet-max=512.
    "--edns-packet-max=512", ...["a", "b", "c", "d"].map((p) => `--txt-record=big.test,${p}${LONG}`),
  ];
  dnsmasq = withNetns(upstreamNs.path, () => Bun.spawn(dnsmasqArgv, { stdio: ["ignore", "ignore", "pipe"] }));
  const validatingArgv = [
    "dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces", `--listen-address=${BOGUS_UPSTREAM}`,
    "--pid-file=", "--user=root", "--group=root", `--server=${UPSTREAM}`, "--dnssec", "--dnssec-check-unsigned", `--trust-anchor=${ROOT_TRUST_ANCHOR}`,
  ];
  validating = withNetns(upstreamNs.path, () => Bun.spawn(validatingArgv, { stdio: ["ignore", "ignore", "pipe"] }));

  writeDnsConfig(CONFIG, config([web, db, other]));
  helper = Bun.spawn([binary, "--log-level", "info", "_dns", "--config", CONFIG], { stdio: ["ignore", "ignore", "pipe"] });
  void (async () => {
    for await (const chunk of helper.stderr.pipeThrough(new TextDecoderStream())) helperLog += chunk;
  })();
  const ready = await Promise.race([waitForDnsStatus(CONFIG, 1, 10_000), helper.exited.then(() => null)]);
  if (!ready) throw new Error(`ctrnet _dns did not start: ${helperLog}`);
});

afterAll(async () => {
  for (const p of [helper, dnsmasq, validating]) {
    if (p && p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
    await p?.exited;
  }
  for (const l of links.reverse()) Bun.spawnSync(["ip", "link", "del", l]);
  for (const ns of [web.ns, db.ns, other.ns, upstreamNs]) if (ns) removeNetns(ns.path);
  rmSync(dir, { recursive: true, force: true });
});

describe("container names", () => {
  test("the status file says what it serves", () => {
    expect(readDnsStatus(CONFIG)).toEqual({
      generation: 1,
      listening: [`${GW_A}:53`, `[${GW_A6}]:53`, `${GW_B}:53`],
      errors: [],
      upstreams: [`${UPSTREAM}:53`],
      members: 3,
    });
  });

  test("dig: name, alias, short id and the search domain, A and AAAA", () => {
    for (const name of ["db", "database", "abcdef012345", "db.dns.ctrnet", "DB.Dns.Ctrnet."]) expect(short(web, name)).toEqual([db.ipv4]);
    expect(short(web, "db", "AAAA")).toEqual([db.ipv6!]);
    expect(short(db, "www.dns.ctrnet", "AAAA")).toEqual([web.ipv6!]);
  });

  test("dig over TCP, and over IPv6 to the IPv6 gateway", () => {
    expect(short(web, "+tcp", "db")).toEqual([db.ipv4]);
    expect(inNetns(web.ns!, ["dig", "+short", "+time=10", "+tries=1", `@${GW_A6}`, "db", "AAAA"]).out.trim()).toBe(db.ipv6!);
  });

  test("PTR for IPv4 and IPv6 addresses gives the container's names", () => {
    expect(short(web, "-x", db.ipv4)).toEqual(["db.", "database.", "abcdef012345."]);
    expect(short(web, "-x", db.ipv6!)[0]).toBe("db.");
  });

  test("busybox nslookup", () => {
    const r = inNetns(web.ns!, ["busybox", "nslookup", "database", GW_A]);
    expect(r.out).toContain(`Address: ${db.ipv4}`);
    expect(r.out).toContain(`Address: ${db.ipv6}`);
  });

  test("glibc getent hosts through an /etc/resolv.conf naming the gateway and the search domain", () => {
    writeFileSync(`${dir}/resolv.conf`, `nameserver ${GW_A}\nsearch dns.ctrnet\n`);
    const getent = (name: string) =>
      inNetns(web.ns!, ["unshare", "-m", "sh", "-c", `mount --bind ${dir}/resolv.conf /etc/resolv.conf && exec getent ahostsv4 ${name}`]);
    for (const name of ["db", "database", "abcdef012345", "db.dns.ctrnet"]) {
      const r = getent(name);
      expect(r.code).toBe(0);
      expect(r.out.split("\n")[0]).toStartWith(db.ipv4);
    }
    expect(getent("nobody").code).toBe(2);
  });

  test("a container on another network cannot resolve them, and they cannot resolve it", () => {
    expect(status(dig(other, "db.dns.ctrnet"))).toBe("NXDOMAIN");
    expect(status(dig(other, "abcdef012345.dns.ctrnet"))).toBe("NXDOMAIN");
    expect(short(other, "other")).toEqual([other.ipv4]);
    expect(status(dig(web, "other.dns.ctrnet"))).toBe("NXDOMAIN");
  });

  test("a query from outside every subnet is REFUSED", () => {
    const r = Bun.spawnSync(["dig", "+time=10", "+tries=1", "-b", UPSTREAM_HOST_SIDE, `@${GW_A}`, "db"], { stdout: "pipe" });
    expect(status(r.stdout.toString())).toBe("REFUSED");
  });
});

describe("changes on SIGHUP", () => {
  test("a removed container is NXDOMAIN at once, an added one resolves at once", async () => {
    const applied = await reconfigure([web, other]);
    expect(applied.generation).toBe(2);
    expect(status(dig(web, "db.dns.ctrnet"))).toBe("NXDOMAIN");
    const newcomer: Container = { name: "newcomer", id: "00000000beef", aliases: ["nc"], ipv4: "10.231.0.9" };
    await reconfigure([web, db, other, newcomer]);
    expect(short(web, "nc")).toEqual(["10.231.0.9"]);
    expect(short(web, "db")).toEqual([db.ipv4]);
  });

  test("a listener whose gateway leaves the configuration closes; the others keep answering", async () => {
    const frontOnly = { networks: networks([web, db]).slice(0, 1), upstreams: [{ address: UPSTREAM }] };
    const applied = await updateDnsServer(CONFIG, helper.pid, frontOnly);
    expect(applied.listening).toEqual([`${GW_A}:53`, `[${GW_A6}]:53`]);
    expect(dig(other, "other")).toMatch(/timed out|no servers could be reached|connection refused/);
    await reconfigure([web, db, other]);
    expect(short(other, "other")).toEqual([other.ipv4]);
  });

  test("member files: a reload that names the changed ones reads those alone; any other reload reads them all", async () => {
    const member = (name: string, ipv4: string) => ({ networks: [{ network: "front", gateways: [GW_A], container: { name, id: name, ipv4: [ipv4] } }] });
    const frame = config([web, db, other]);
    await updateDnsServer(CONFIG, helper.pid, frame);
    expect(writeDnsMember(CONFIG, "member-one", member("m1", "10.231.0.11"))).toBe(true);
    // the same again: nothing to write
    expect(writeDnsMember(CONFIG, "member-one", member("m1", "10.231.0.11"))).toBe(false);
    expect((await updateDnsServer(CONFIG, helper.pid, { ...frame, changed: ["member-one"] })).members).toBe(4);
    expect(short(web, "m1")).toEqual(["10.231.0.11"]);
    expect(short(web, "-x", "10.231.0.11")).toEqual(["m1."]);
    // a member file the reload does not name is not read...
    writeDnsMember(CONFIG, "member-two", member("m2", "10.231.0.12"));
    expect((await updateDnsServer(CONFIG, helper.pid, { ...frame, changed: [] })).members).toBe(4);
    expect(status(dig(web, "m2.dns.ctrnet"))).toBe("NXDOMAIN");
    // ...a removed one named goes
    writeDnsMember(CONFIG, "member-one", undefined);
    expect((await updateDnsServer(CONFIG, helper.pid, { ...frame, changed: ["member-one"] })).members).toBe(3);
    expect(status(dig(web, "m1.dns.ctrnet"))).toBe("NXDOMAIN");
    // a reload naming none reads every member file
    expect((await updateDnsServer(CONFIG, helper.pid, frame)).members).toBe(4);
    expect(short(web, "m2")).toEqual(["10.231.0.12"]);
    // and so does one that skips a generation (a write the server never applied)
    writeDnsMember(CONFIG, "member-two", undefined);
    writeDnsMember(CONFIG, "member-one", member("m1", "10.231.0.11"));
    writeDnsConfig(CONFIG, { ...frame, changed: ["member-two"] });
    expect((await updateDnsServer(CONFIG, helper.pid, { ...frame, changed: ["member-two"] })).members).toBe(4);
    expect(short(web, "m1")).toEqual(["10.231.0.11"]);
    writeDnsMember(CONFIG, "member-one", undefined);
    expect((await updateDnsServer(CONFIG, helper.pid, frame)).members).toBe(3);
  });

  test("queries during repeated reloads are all answered", async () => {
    writeFileSync(`${dir}/queries`, Array.from({ length: 300 }, (_, i) => `${i % 2 ? "db" : "www"} A`).join("\n"));
    const burst = withNetns(web.ns!.path, () =>
      Bun.spawn(["dig", "+time=10", "+tries=1", `@${GW_A}`, "+noall", "+comments", "-f", `${dir}/queries`], { stdout: "pipe" }),
    );
    for (let i = 0; i < 10; i++) await reconfigure([web, db, other]);
    const out = await new Response(burst.stdout).text();
    await burst.exited;
    expect(out.match(/status: NOERROR/g)?.length).toBe(300);
  });

  test("a reload with a bad file keeps serving the previous configuration", async () => {
    const before = readDnsStatus(CONFIG)!.generation;
    writeFileSync(CONFIG, "{ not json");
    helper.kill("SIGHUP");
    for (let i = 0; i < 500 && !helperLog.includes("reload of"); i++) await Bun.sleep(10);
    expect(helperLog).toContain(`ctrnet: error: reload of ${CONFIG} failed, still serving the previous configuration: ${CONFIG}: not JSON`);
    expect(short(web, "db")).toEqual([db.ipv4]);
    expect(readDnsStatus(CONFIG)!.generation).toBe(before);
    rmSync(CONFIG);
    await reconfigure([web, db, other]);
  });
});

describe("forwarding", () => {
  test("other names go to the upstream, over UDP and TCP; its NXDOMAIN passes through", () => {
    expect(short(web, "example.test")).toEqual(["192.0.2.10"]);
    expect(short(web, "+tcp", "example.test")).toEqual(["192.0.2.10"]);
    expect(status(dig(web, "nothing.test"))).toBe("NXDOMAIN");
  });

  test("an upstream's SERVFAIL passes through as it is (with its extended error), over UDP and TCP", async () => {
    await reconfigure([web, db, other], BOGUS_UPSTREAM);
    try {
      for (const transport of ["+notcp", "+tcp"]) {
        const out = dig(web, transport, "example.test");
        expect(status(out)).toBe("SERVFAIL");
        expect(out).toContain("EDE: 6 (DNSSEC Bogus)");
      }
    } finally {
      await reconfigure([web, db, other]);
    }
  });

  test("an upstream UDP answer that comes back truncated is fetched again over TCP", () => {
    const direct = Bun.spawnSync(["dig", "+time=10", "+tries=1", "+ignore", "+bufsize=1232", `@${UPSTREAM}`, "big.test", "TXT"], { stdout: "pipe" });
    expect(direct.stdout.toString()).toMatch(/flags:[^;]* tc/);
    const viaCtrnet = dig(web, "+ignore", "+bufsize=1232", "big.test", "TXT");
    expect(viaCtrnet).not.toMatch(/flags:[^;]* tc/);
    expect(viaCtrnet.match(/^big\.test\.\s.*TXT/gm)?.length).toBe(4);
  });

  test("an upstream that does not answer gives SERVFAIL before the client gives up", async () => {
    await reconfigure([web, db, other], "10.233.0.77");
    try {
      expect(status(dig(web, "example.test"))).toBe("SERVFAIL");
      expect(status(dig(web, "+tcp", "example.test"))).toBe("SERVFAIL");
    } finally {
      await reconfigure([web, db, other]);
    }
    expect(short(web, "example.test")).toEqual(["192.0.2.10"]);
  });
});

describe("robustness", () => {
  test("malformed packets over UDP and TCP get FORMERR or nothing, and the server keeps answering", async () => {
    const replies: Buffer[] = [];
    const sock = await Bun.udpSocket({ socket: { data: (_s, d) => void replies.push(d), error: () => {} } });
    const junk = [Uint8Array.from([1, 2, 3]), Uint8Array.from([0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 0x61]), Uint8Array.from([0, 8, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])];
    for (const j of junk) sock.send(j, 53, GW_A);
    for (let i = 0; i < 100 && replies.length < 2; i++) await Bun.sleep(20);
    sock.close();
    expect(replies.map((r) => [r.readUInt16BE(0), r[3]! & 0xf]).sort()).toEqual([[8, 1], [9, 1]]);

    const tcp = await Bun.connect({ hostname: GW_A, port: 53, socket: { data() {} } });
    tcp.write(Uint8Array.from([0, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
    tcp.end();
    expect(short(web, "db")).toEqual([db.ipv4]);
    expect(helper.exitCode).toBeNull();
  });
});

describe("the helper process", () => {
  test("a bad configuration file is exit 2 and one line naming the field", () => {
    writeFileSync(`${dir}/bad.json`, JSON.stringify({ generation: 1, networks: [{ name: "x", gateways: [], subnets: [] }] }));
    const r = Bun.spawnSync([binary, "_dns", "--config", `${dir}/bad.json`], { stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toBe(`ctrnet: error: ${dir}/bad.json: networks[0].subnets: expected at least one subnet\n`);
  });

  test("SIGTERM stops it cleanly: exit 0, status file gone", async () => {
    helper.kill("SIGTERM");
    expect(await helper.exited).toBe(0);
    expect(existsSync(`${CONFIG}.status`)).toBe(false);
  });
});
