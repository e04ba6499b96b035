// Section 5: container name resolution. ctrnet's DNS server (`ctrnet _dns`) against aardvark-dns (Debian's, as
// netavark starts it: `aardvark-dns --config DIR -p PORT run`), both given the same network and the same
// containers, each in its own configuration format, both listening on the same bridge's gateway address
// (ctrnet on port 53, aardvark-dns on 5533). The client is dnsperf inside a "container" netns on that bridge,
// asking for a container's name (an A record), the path every container-to-container connection starts with.
//
//   throughput: dnsperf keeps QUEUE queries outstanding for SECONDS: answered queries per second
//   latency:    dnsperf at a fixed rate both servers sustain, -v for each query's latency: p50 and p99
//   memory:     the server's resident set (VmRSS) idle after start, and its peak (VmHWM) after the load
//   attach cost: `ctrnet create` on a network ctrnet's DNS server serves against one with --disable-dns, for
//               the first container (which starts the server) and for a second one (the server runs already:
//               a configuration write and a SIGHUP); and `rm` of the last one, which stops the server
// Runs interleaved, `runs` times each, inside the bench's sandbox (sandbox.ts).
import type { Subprocess } from "bun";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { writeDnsConfig, waitForDnsStatus } from "../src/drivers/dns/config.ts";
import { createNetns, removeNetns } from "../src/netns/index.ts";
import { withNetns } from "../test/helpers/netns.ts";
import { CTRNET, ctrnetHome } from "./ctrnet.ts";
import { commandLine, run } from "./processes.ts";
import { fixed, median, mib, ratio } from "./stats.ts";

export const AARDVARK = ["/usr/lib/podman/aardvark-dns", "/usr/libexec/podman/aardvark-dns"].find((p) => existsSync(p)) ?? "aardvark-dns";

export interface DnsOptions {
  workDir: string;
  seconds: number;
  runs: number;
}

export interface DnsServerFigures {
  name: string;
  command: string;
  qps: number[];
  p50Ms: number[];
  p99Ms: number[];
  lost: number[];
  idleRssBytes: number;
  peakRssBytes: number;
}

export interface DnsAttachFigures {
  /** create of the first container on the network, ms per run: with DNS (starts the server) and without. */
  firstWith: number[];
  firstWithout: number[];
  /** create of a second container while the first is on the network. */
  nextWith: number[];
  nextWithout: number[];
  /** rm of the last container (with DNS it stops the server). */
  lastRmWith: number[];
  lastRmWithout: number[];
  samples: number;
}

export interface DnsResult {
  seconds: number;
  runs: number;
  queue: number;
  rate: number;
  throughputCommand: string;
  latencyCommand: string;
  servers: [DnsServerFigures, DnsServerFigures];
  attach: DnsAttachFigures;
}

const BRIDGE = "bdns0";
const GATEWAY = "10.89.0.1";
const CLIENT = "10.89.0.2";
const TARGET = { name: "web", id: "0123456789ab", alias: "www", ip: "10.89.0.3" };
/** Outstanding queries in the throughput runs: enough to keep either server busy on two cores. */
const QUEUE = 200;
/** Queries per second in the latency runs: well under what either server answers, so latency is not queueing. */
const RATE = 5000;
const AARDVARK_PORT = 5533;

function procKiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1]) * 1024;
}

async function waitFor(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ready()) return;
    await Bun.sleep(50);
  }
  throw new Error(`${what}: not ready after 10 s`);
}

function dnsperf(netns: string, port: number, args: string[], queries: string): string {
  const argv = ["dnsperf", "-s", GATEWAY, "-p", String(port), "-d", queries, ...args];
  const r = withNetns(netns, () => Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", timeout: 120_000 }));
  if (r.exitCode !== 0) throw new Error(`${commandLine(argv)} failed: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function summaryNumber(out: string, label: string): number {
  const m = new RegExp(`${label}:\\s+([\\d.]+)`).exec(out);
  if (!m) throw new Error(`dnsperf printed no "${label}":\n${out.slice(-2000)}`);
  return Number(m[1]);
}

/** p-th percentile (nearest rank) of the per-query latencies dnsperf -v printed, in ms; only NOERROR answers count. */
function latencies(out: string): number[] {
  const xs: number[] = [];
  for (const m of out.matchAll(/^> NOERROR \S+ A ([\d.]+)$/gm)) xs.push(Number(m[1]) * 1000);
  if (xs.length === 0) throw new Error(`dnsperf -v printed no answered query:\n${out.slice(0, 2000)}`);
  return xs.sort((a, b) => a - b);
}
const percentile = (sorted: number[], p: number) => sorted[Math.ceil(p * sorted.length) - 1]!;

/** The attach cost of DNS on networks of ctrnet's own plugin (no plugin process: DNS's share shows). */
export function dnsAttachCost(workDir: string, samples: number): DnsAttachFigures {
  const home = ctrnetHome(`${workDir}/attach`);
  const on = "dnson";
  const off = "dnsoff";
  home.run(["network", "create", "-o", "plugin=ctrnet", "--subnet", "10.88.1.0/24", on]);
  home.run(["network", "create", "-o", "plugin=ctrnet", "--disable-dns", "--subnet", "10.88.2.0/24", off]);
  const f: DnsAttachFigures = { firstWith: [], firstWithout: [], nextWith: [], nextWithout: [], lastRmWith: [], lastRmWithout: [], samples };
  const round = (network: string, first: number[], next: number[], lastRm: number[], i: number) => {
    const a = `${network}-a${i}`;
    const b = `${network}-b${i}`;
    first.push(home.run(["create", "--network", network, a]).ms);
    next.push(home.run(["create", "--network", network, b]).ms);
    home.run(["rm", b]);
    lastRm.push(home.run(["rm", a]).ms);
  };
  try {
    // one warm-up round each: the bridge, the nftables table and the page cache are there for every sample
    round(on, [], [], [], -1);
    round(off, [], [], [], -1);
    for (let i = 0; i < samples; i++) {
      round(on, f.firstWith, f.nextWith, f.lastRmWith, i);
      round(off, f.firstWithout, f.nextWithout, f.lastRmWithout, i);
    }
  } finally {
    Bun.spawnSync([CTRNET, "rm", "-f", ...[on, off].flatMap((n) => [`${n}-a${f.firstWith.length}`, `${n}-b${f.firstWith.length}`])], { env: home.env });
    for (const n of [on, off]) Bun.spawnSync([CTRNET, "network", "rm", "-f", n], { env: home.env });
    Bun.spawnSync(["nft", "delete", "table", "inet", "ctrnet"]);
  }
  return f;
}

export async function dnsResolution(o: DnsOptions): Promise<DnsResult> {
  const attach = dnsAttachCost(o.workDir, Math.max(10, o.runs * 10));
  mkdirSync(o.workDir, { recursive: true });
  const children: Subprocess[] = [];
  let aardvarkPid = 0;
  const client = createNetns();
  try {
    run(["ip", "link", "add", BRIDGE, "type", "bridge"]);
    run(["ip", "addr", "add", `${GATEWAY}/24`, "dev", BRIDGE]);
    run(["ip", "link", "set", BRIDGE, "up"]);
    run(["ip", "link", "add", "bdnsc", "type", "veth", "peer", "name", "eth0", "netns", client.path]);
    run(["ip", "link", "set", "bdnsc", "master", BRIDGE, "up"]);
    withNetns(client.path, () => {
      run(["ip", "link", "set", "lo", "up"]);
      run(["ip", "addr", "add", `${CLIENT}/24`, "dev", "eth0"]);
      run(["ip", "link", "set", "eth0", "up"]);
    });

    // The same two containers for both: the client itself and the one it asks for.
    const ctrnetConfig = `${o.workDir}/ctrnet/dns.json`;
    const generation = writeDnsConfig(ctrnetConfig, {
      networks: [
        {
          name: "bench",
          gateways: [GATEWAY],
          subnets: ["10.89.0.0/24"],
          containers: [
            { name: "client", id: "fedcba987654", ipv4: [CLIENT] },
            { name: TARGET.name, id: TARGET.id, aliases: [TARGET.alias], ipv4: [TARGET.ip] },
          ],
        },
      ],
      upstreams: [],
    });
    const aardvarkDir = `${o.workDir}/aardvark`;
    mkdirSync(aardvarkDir, { recursive: true });
    // aardvark-dns 1.4: file name = network; line 1 the gateways; then "ID IPV4S IPV6S NAMES" per container.
    const fullId = (short: string) => short.padEnd(64, "0");
    writeFileSync(
      `${aardvarkDir}/bench`,
      [GATEWAY, `${fullId("fedcba987654")} ${CLIENT}  client,fedcba987654`, `${fullId(TARGET.id)} ${TARGET.ip}  ${TARGET.name},${TARGET.alias},${TARGET.id}`, ""].join("\n"),
    );

    const ctrnetArgv = [CTRNET, "_dns", "--config", ctrnetConfig];
    const ctrnet = Bun.spawn(ctrnetArgv, { stdio: ["ignore", "ignore", Bun.file(`${o.workDir}/ctrnet.log`)] });
    children.push(ctrnet);
    if (!(await waitForDnsStatus(ctrnetConfig, generation, 10_000))) throw new Error(`ctrnet _dns did not start (log: ${o.workDir}/ctrnet.log)`);
    // aardvark-dns forks: the parent returns once the child serves, the child's pid is in aardvark.pid.
    const aardvarkArgv = [AARDVARK, "--config", aardvarkDir, "-p", String(AARDVARK_PORT), "run"];
    run(aardvarkArgv);
    await waitFor("aardvark-dns's pid file", () => existsSync(`${aardvarkDir}/aardvark.pid`));
    aardvarkPid = Number(readFileSync(`${aardvarkDir}/aardvark.pid`, "utf8").trim());

    const queries = `${o.workDir}/queries`;
    writeFileSync(queries, `${TARGET.name} A\n`);
    const servers: DnsResult["servers"] = [
      { name: "ctrnet _dns", command: commandLine(ctrnetArgv), qps: [], p50Ms: [], p99Ms: [], lost: [], idleRssBytes: procKiB(ctrnet.pid, "VmRSS"), peakRssBytes: 0 },
      { name: "aardvark-dns", command: commandLine(aardvarkArgv), qps: [], p50Ms: [], p99Ms: [], lost: [], idleRssBytes: procKiB(aardvarkPid, "VmRSS"), peakRssBytes: 0 },
    ];
    const ports = [53, AARDVARK_PORT];
    const pids = [ctrnet.pid, aardvarkPid];
    // Both must answer the name before anything is measured: a wrong answer is not a fast one.
    for (const port of ports) {
      const answer = withNetns(client.path, () => run(["dig", "+short", "+time=5", `@${GATEWAY}`, "-p", String(port), TARGET.name]));
      if (answer.trim() !== TARGET.ip) throw new Error(`the server on port ${port} answered "${answer.trim()}" for ${TARGET.name}, not ${TARGET.ip}`);
    }
    const throughputArgs = ["-l", String(o.seconds), "-c", "4", "-q", String(QUEUE)];
    const latencyArgs = ["-l", String(o.seconds), "-c", "4", "-q", "50", "-Q", String(RATE), "-v"];
    for (let r = 0; r < o.runs; r++) {
      for (const [i, s] of servers.entries()) {
        const t = dnsperf(client.path, ports[i]!, throughputArgs, queries);
        s.qps.push(summaryNumber(t, "Queries per second"));
        const l = dnsperf(client.path, ports[i]!, latencyArgs, queries);
        const sorted = latencies(l);
        s.p50Ms.push(percentile(sorted, 0.5));
        s.p99Ms.push(percentile(sorted, 0.99));
        s.lost.push(summaryNumber(l, "Queries lost"));
      }
    }
    for (const [i, s] of servers.entries()) s.peakRssBytes = procKiB(pids[i]!, "VmHWM");
    return {
      seconds: o.seconds,
      runs: o.runs,
      queue: QUEUE,
      rate: RATE,
      throughputCommand: commandLine(["dnsperf", "-s", GATEWAY, "-p", "PORT", "-d", "QUERIES", ...throughputArgs]),
      latencyCommand: commandLine(["dnsperf", "-s", GATEWAY, "-p", "PORT", "-d", "QUERIES", ...latencyArgs]),
      servers,
      attach,
    };
  } finally {
    for (const c of children) c.kill("SIGTERM");
    if (aardvarkPid) process.kill(aardvarkPid, "SIGTERM");
    await Promise.all(children.map((c) => c.exited));
    Bun.spawnSync(["ip", "link", "del", "bdnsc"]);
    Bun.spawnSync(["ip", "link", "del", BRIDGE]);
    removeNetns(client.path);
  }
}

export function dnsMarkdown(r: DnsResult): string {
  const [own, peer] = r.servers;
  const row = (s: DnsServerFigures) =>
    `| ${s.name} | ${fixed(median(s.qps), 0)} | ${fixed(median(s.p50Ms), 3)} | ${fixed(median(s.p99Ms), 3)} | ${fixed(median(s.lost), 0)} | ${mib(s.idleRssBytes)} | ${mib(s.peakRssBytes)} |`;
  return [
    `An A query for a container's name from a container on the same bridge; medians of ${r.runs} runs of ${r.seconds} s each, interleaved.`,
    "",
    "| server | queries/s | p50 ms at fixed rate | p99 ms at fixed rate | lost at fixed rate | RSS idle MiB | RSS peak MiB |",
    "|---|---|---|---|---|---|---|",
    row(own),
    row(peer),
    "",
    `- ctrnet / aardvark-dns: queries/s **${ratio(median(own.qps), median(peer.qps))}** (above 1: ctrnet answers more), ` +
      `p99 **${ratio(median(own.p99Ms), median(peer.p99Ms))}** (below 1: ctrnet answers sooner), peak RSS ${ratio(own.peakRssBytes, peer.peakRssBytes)}`,
    `- queries/s: \`${r.throughputCommand}\` (${r.queue} outstanding); latency: \`${r.latencyCommand}\` (${r.rate} queries/s, each query's latency from -v)`,
    `- servers: \`${own.command}\`; \`${peer.command}\``,
    "",
    attachMarkdown(r.attach, own),
  ].join("\n");
}

function attachMarkdown(a: DnsAttachFigures, own: DnsServerFigures): string {
  const row = (what: string, withDns: number[], without: number[]) =>
    `| ${what} | ${fixed(median(withDns), 1)} | ${fixed(median(without), 1)} | ${fixed(median(withDns) - median(without), 1)} | ${ratio(median(withDns), median(without))} |`;
  return [
    `What DNS adds to a container's attach: \`ctrnet create\` and \`ctrnet rm\` on a network of ctrnet's own plugin with DNS (the default) and with --disable-dns, interleaved, ${a.samples} samples each; wall time in ms, medians.`,
    "",
    "| step | with DNS | without | added ms | ratio |",
    "|---|---:|---:|---:|---:|",
    row("create, first container (starts `ctrnet _dns`)", a.firstWith, a.firstWithout),
    row("create, second container (server running: config + SIGHUP)", a.nextWith, a.nextWithout),
    row("rm, last container (stops the server)", a.lastRmWith, a.lastRmWithout),
    "",
    `- the server beside it: RSS ${mib(own.idleRssBytes)} MiB idle, ${mib(own.peakRssBytes)} MiB at peak under dnsperf (table above)`,
  ].join("\n");
}
