// Section 2: port forwarding from the host's 127.0.0.1 into a network namespace, as rootless containers get it:
// ctrnet's forwarder (`ctrnet _rootlessport`) against rootlesskit's builtin port driver, slirp4netns's
// `add_hostfwd` and pasta's `-t`, with plain loopback inside the namespace as the limit. ctrnet is measured as
// users get it, keeping the client's address (for TCP to its own netns, by the sockets' marks: no conntrack), and without.
//
// The same servers for every path. rootlesskit insists on making its own user + network namespace, so that
// namespace hosts them (iperf3 -s as rootlesskit's command, and a small echo server), and:
//   ctrnet kept  host 127.0.0.1:P0 -> ctrnet _rootlessport -> transparent socket from 10.0.4.2 (the gateway, as a
//                loopback client appears) in a netns of its own (its return path's sysctls only there) -> 10.0.4.100:5201
//   ctrnet       host 127.0.0.1:P1 -> ctrnet _rootlessport -> connect from inside the netns to 127.0.0.1:5201
//   rootlesskit  host 127.0.0.1:P2 -> rootlesskit parent -> socket its child dialed in the netns -> 127.0.0.1:5201
//   slirp4netns  host 127.0.0.1:P3 -> slirp4netns's user-mode TCP/IP -> its own tap in the netns -> 10.0.3.100:5201
//   pasta        host 127.0.0.1:P4 -> pasta, splicing to a socket it opened in the netns -> 127.0.0.1:5201
//   loopback     iperf3 -c 127.0.0.1:5201 run inside the netns: no forwarder at all
// ctrnet, rootlesskit and pasta end on the netns's loopback, so they differ only in the forwarder itself;
// slirp4netns can only deliver to its tap, as it does for podman.
//
// Runs inside the bench's private namespaces (see sandbox.ts): traffic stays on loopback and in the netns, and
// nothing outlives the run. Needs root, iperf3, rootlesskit, slirp4netns and passt (pasta).
// Run directly, this file is one of two helpers the section starts inside the netns or on the host:
//   --echo-server PORT                echo server
//   --conn-client PORT --connections N  connect, send 4 bytes, read them back, close; N times, prints connections/s
import type { Subprocess } from "bun";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as libc from "../ffi/libc.ts";
import { startPortForwarder } from "../src/drivers/portfwd/index.ts";
import { createNetns, removeNetns, type Netns } from "../src/netns/index.ts";
import { withNetns } from "../test/helpers/netns.ts";
import { CTRNET } from "./ctrnet.ts";
import { commandLine, output, run } from "./processes.ts";
import { fixed, median, ratio } from "./stats.ts";

export interface PortfwdOptions {
  workDir: string;
  seconds: number;
  runs: number;
  connections: number;
}

export interface PortfwdPath {
  name: string;
  /** How the forwarder was started, for the report. */
  command: string;
  iperfPort: number;
  echoPort: number;
  /** Runs client commands inside the netns instead of on the host (the loopback limit). */
  inside: boolean;
  cpuPids: number[];
  fwd: number[];
  rev: number[];
  cpuFwd: number[];
  cpuRev: number[];
  connRate: number;
}

export interface PortfwdResult {
  seconds: number;
  runs: number;
  connections: number;
  concurrency: number;
  paths: PortfwdPath[];
}

const CONCURRENCY = 8;
const IPERF_PORT = 5201;
const ECHO_PORT = 7000;
const SLIRP_CIDR = "10.0.3.0/24";
const SLIRP_GUEST = "10.0.3.100";
/** The address-keeping forwarder's netns: its server address, and a gateway for loopback clients to appear as. */
const KEEP_GUEST = "10.0.4.100";
const KEEP_GATEWAY = "10.0.4.2";
const USER_HZ = 100;
const SELF = import.meta.path;

const WHO = "who?";

/** Echoes, except that it answers "who?" with the client's address as it sees it. */
function echoServer(port: number): void {
  // On every address, not only loopback: slirp4netns delivers to its tap's address.
  Bun.listen({ hostname: "0.0.0.0", port, socket: { data: (s, d) => void s.write(d.toString() === WHO ? (s.remoteAddress ?? "") : d) } });
}

async function connClient(port: number, count: number): Promise<void> {
  let started = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (s) => void s.write("ping"),
          data: (s) => {
            s.end();
            resolve();
          },
          error: (_s, e) => reject(e),
          connectError: (_s, e) => reject(e),
        },
      }).catch(reject);
    });
  const worker = async () => {
    while (started < count) {
      started++;
      await one();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  process.stdout.write(`${(count / ((performance.now() - t0) / 1000)).toFixed(0)}\n`);
}

/** The address the echo server behind port saw for this client; "" when the connection ended (or failed) without an answer. */
function askWho(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open: (s) => void s.write(WHO),
        // resolved before end(), which may call close at once
        data: (s, d) => {
          resolve(d.toString());
          s.end();
        },
        close: () => resolve(""),
        error: (_s, e) => reject(e),
        // reset so soon that the connect itself reports it: no answer either
        connectError: () => resolve(""),
      },
    }).catch(reject);
  });
}

/**
 * The measurement is worth something only if the server sees the gateway, as a loopback client appears. The
 * forwarder accepts before the server listens (then resets the client): asked until it answers.
 */
async function checkKept(port: number): Promise<void> {
  let peer = "";
  await waitFor("the echo server behind the address-keeping forwarder", async () => (peer = await askWho(port)) !== "");
  if (peer !== KEEP_GATEWAY) throw new Error(`the address-keeping forwarder's server saw ${peer}, not ${KEEP_GATEWAY}`);
}

function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / USER_HZ;
}

async function waitFor(what: string, ready: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ready()) return;
    await Bun.sleep(50);
  }
  throw new Error(`${what}: not ready after 10 s`);
}

const listening = (port: number) => () =>
  Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })
    .then((s) => (s.end(), true))
    .catch(() => false);

/** One request on slirp4netns's API socket; it answers and closes. */
function slirpApi(socket: string, request: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    let reply = "";
    Bun.connect({
      unix: socket,
      socket: {
        open: (s) => void s.write(JSON.stringify(request)),
        data: (_s, d) => void (reply += d.toString()),
        close: () => (/"error"/.test(reply) || !reply ? reject(new Error(`slirp4netns API: ${reply || "no reply"}`)) : resolve()),
        error: (_s, e) => reject(e),
      },
    }).catch(reject);
  });
}

/**
 * What the peers need from the sandbox's host side: rootlesskit maps a subordinate id range even for root, and
 * pasta won't start without an interface that has a default route. Both stay in the private namespaces.
 */
function prepareHost(workDir: string): void {
  writeFileSync(`${workDir}/subid`, "root:100000:65536\n");
  for (const f of ["/etc/subuid", "/etc/subgid"]) {
    if (!existsSync(f)) writeFileSync(f, "", { flag: "a" });
    run(["mount", "--bind", `${workDir}/subid`, f]);
  }
  run(["ip", "link", "add", "bnchpst0", "type", "veth", "peer", "name", "bnchpst1"]);
  run(["ip", "addr", "add", "192.0.2.1/24", "dev", "bnchpst0"]);
  run(["ip", "link", "set", "bnchpst0", "up"]);
  run(["ip", "link", "set", "bnchpst1", "up"]);
  run(["ip", "route", "add", "default", "via", "192.0.2.2", "dev", "bnchpst0"]);
}

export async function portForwarding(o: PortfwdOptions): Promise<PortfwdResult> {
  prepareHost(o.workDir);
  const children: Subprocess[] = [];
  const spawn = <T extends Subprocess>(p: T): T => (children.push(p), p);
  const pipes = { stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"] };
  const logged = (name: string) => ({ stdio: ["ignore", "ignore", Bun.file(`${o.workDir}/${name}.log`)] as ["ignore", "ignore", Bun.BunFile] });
  let nsFd = -1;
  let keepNs: Netns | undefined;
  const stops: Array<() => Promise<void>> = [];

  try {
    const rlkState = `${o.workDir}/rootlesskit`;
    const rlkArgv = [
      "rootlesskit", `--state-dir=${rlkState}`, "--net=slirp4netns", "--disable-host-loopback", "--port-driver=builtin",
      "-p", `127.0.0.1:25201:${IPERF_PORT}/tcp`, "-p", `127.0.0.1:27000:${ECHO_PORT}/tcp`, "--", "iperf3", "-s", "-p", String(IPERF_PORT),
    ];
    const rlk = spawn(Bun.spawn(rlkArgv, logged("rootlesskit")));
    await waitFor(`rootlesskit (log: ${o.workDir}/rootlesskit.log)`, () => existsSync(`${rlkState}/child_pid`) && readFileSync(`${rlkState}/child_pid`, "utf8").trim() !== "");
    const childPid = Number(readFileSync(`${rlkState}/child_pid`, "utf8").trim());
    const netnsPath = `/proc/${childPid}/ns/net`;
    nsFd = libc.open(netnsPath, libc.O_RDONLY);
    const fd = nsFd;
    withNetns(fd, () => spawn(Bun.spawn([process.execPath, SELF, "--echo-server", String(ECHO_PORT)], pipes)));
    await waitFor("rootlesskit's port 25201", listening(25201));
    await waitFor("the echo server via rootlesskit", listening(27000));

    const fwd = await startPortForwarder({
      binary: CTRNET,
      netnsPath,
      childIP: "127.0.0.1",
      keepClientAddress: false,
      ports: [
        { hostIP: "127.0.0.1", hostPort: 15201, containerPort: IPERF_PORT, protocol: "tcp" },
        { hostIP: "127.0.0.1", hostPort: 17000, containerPort: ECHO_PORT, protocol: "tcp" },
      ],
    });
    stops.push(() => fwd.stop());

    // Its own netns, so that what its return path sets there (see return-path.ts) touches no other path.
    const kept = createNetns();
    keepNs = kept;
    run(["ip", "link", "add", "bnchkp0", "type", "veth", "peer", "name", "eth0", "netns", kept.path]);
    run(["ip", "link", "set", "bnchkp0", "up"]);
    withNetns(kept.path, () => {
      run(["ip", "link", "set", "lo", "up"]);
      run(["ip", "addr", "add", `${KEEP_GUEST}/24`, "dev", "eth0"]);
      // slirp4netns's tap as podman sets it up: replies the return path reroutes keep the MSS they got from it
      run(["ip", "link", "set", "eth0", "mtu", "65520", "up"]);
      run(["ip", "route", "add", "default", "via", KEEP_GATEWAY]);
      spawn(Bun.spawn(["iperf3", "-s", "-p", String(IPERF_PORT)], logged("iperf3-kept")));
      spawn(Bun.spawn([process.execPath, SELF, "--echo-server", String(ECHO_PORT)], pipes));
    });
    const keeper = await startPortForwarder({
      binary: CTRNET,
      netnsPath: kept.path,
      childIP: KEEP_GUEST,
      ports: [
        { hostIP: "127.0.0.1", hostPort: 14201, containerPort: IPERF_PORT, protocol: "tcp" },
        { hostIP: "127.0.0.1", hostPort: 16000, containerPort: ECHO_PORT, protocol: "tcp" },
      ],
    });
    stops.push(() => keeper.stop());
    await checkKept(16000);

    const apiSocket = `${o.workDir}/slirp4netns.sock`;
    const slirpArgv = ["slirp4netns", "--netns-type=path", `--api-socket=${apiSocket}`, "--disable-host-loopback", "--mtu=65520", `--cidr=${SLIRP_CIDR}`, netnsPath, "slirp0"];
    const slirp = spawn(Bun.spawn(slirpArgv, logged("slirp4netns")));
    await waitFor(`slirp4netns's API socket (log: ${o.workDir}/slirp4netns.log)`, () => existsSync(apiSocket));
    // Without --configure, which would fail on rootlesskit's default route: just the address the forwards go to.
    run(["nsenter", `--net=${netnsPath}`, "ip", "addr", "add", `${SLIRP_GUEST}/24`, "dev", "slirp0"]);
    run(["nsenter", `--net=${netnsPath}`, "ip", "link", "set", "slirp0", "up"]);
    const hostfwd = (host: number, guest: number) => ({
      execute: "add_hostfwd",
      arguments: { proto: "tcp", host_addr: "127.0.0.1", host_port: host, guest_addr: SLIRP_GUEST, guest_port: guest },
    });
    await slirpApi(apiSocket, hostfwd(35201, IPERF_PORT));
    await slirpApi(apiSocket, hostfwd(37000, ECHO_PORT));

    // As root, pasta would drop to nobody before joining the netns, and nobody may not open rootlesskit's child's.
    const pastaArgv = [
      "pasta", "--foreground", "--quiet", "--runas", "0", "--ns-ifname", "pasta0", "-t", `127.0.0.1/45201:${IPERF_PORT}`, "-t", `127.0.0.1/47000:${ECHO_PORT}`,
      "-u", "none", "-T", "none", "-U", "none", "--netns", netnsPath,
    ];
    const pasta = spawn(Bun.spawn(pastaArgv, logged("pasta")));
    await waitFor(`pasta (log: ${o.workDir}/pasta.log)`, listening(45201));

    const path = (name: string, command: string, iperfPort: number, echoPort: number, cpuPids: number[], inside = false): PortfwdPath => ({
      name, command, iperfPort, echoPort, inside, cpuPids, fwd: [], rev: [], cpuFwd: [], cpuRev: [], connRate: NaN,
    });
    const paths = [
      path(
        "ctrnet _rootlessport, client address kept",
        `ctrnet _rootlessport (startPortForwarder), 127.0.0.1:14201 → netns ${KEEP_GUEST}:5201, from ${KEEP_GATEWAY} (the client's address)`,
        14201, 16000, [keeper.pid],
      ),
      path("ctrnet _rootlessport, address not kept", "ctrnet _rootlessport (startPortForwarder, keepClientAddress: false), 127.0.0.1:15201 → netns 127.0.0.1:5201", 15201, 17000, [fwd.pid]),
      path("rootlesskit builtin", commandLine(rlkArgv), 25201, 27000, [rlk.pid, childPid]),
      path("slirp4netns add_hostfwd", `${commandLine(slirpArgv)}; add_hostfwd 127.0.0.1:35201 → ${SLIRP_GUEST}:5201`, 35201, 37000, [slirp.pid]),
      path("pasta -t", commandLine(pastaArgv), 45201, 47000, [pasta.pid]),
      path("loopback in the netns (limit)", "iperf3 -c 127.0.0.1 inside the netns", IPERF_PORT, ECHO_PORT, [], true),
    ];
    const client = (p: PortfwdPath, argv: string[]) => (p.inside ? withNetns(fd, () => Bun.spawn(argv, pipes)) : Bun.spawn(argv, pipes));

    // Interleaved, so a slow moment of the machine hits every path alike.
    for (let r = 1; r <= o.runs; r++) {
      for (const p of paths) {
        for (const reverse of [false, true]) {
          const argv = ["iperf3", "-c", "127.0.0.1", "-p", String(p.iperfPort), "-t", String(o.seconds), "-J", ...(reverse ? ["-R"] : [])];
          const label = `port forwarding, run ${r}/${o.runs}, ${p.name}${reverse ? " -R" : ""}`;
          let before = 0;
          let json: { error?: string; end: { sum_received: { bits_per_second: number }; cpu_utilization_percent?: { host_total: number; remote_total: number } } } | undefined;
          // A loaded machine makes a peer drop iperf3's control connection now and then: once more, then left out.
          for (let attempt = 1; attempt <= 2 && !json; attempt++) {
            before = cpuSeconds(p.cpuPids);
            const got = JSON.parse(await output(spawn(client(p, argv)), argv, (o.seconds + 20) * 1000));
            if (got.error) console.error(`${label}: iperf3: ${got.error}${attempt === 1 ? ", once more" : "; this run is left out"}`);
            else json = got;
          }
          if (!json) continue;
          const gbits = json.end.sum_received.bits_per_second / 1e9;
          (reverse ? p.rev : p.fwd).push(gbits);
          (reverse ? p.cpuRev : p.cpuFwd).push(cpuSeconds(p.cpuPids) - before);
          const iperfCpu = json.end.cpu_utilization_percent;
          const cpuNote = iperfCpu ? ` (iperf3 CPU: client ${iperfCpu.host_total.toFixed(0)} %, server ${iperfCpu.remote_total.toFixed(0)} %)` : "";
          console.error(`${label}: ${gbits.toFixed(2)} Gbit/s${cpuNote}`);
        }
      }
    }
    for (const p of paths) {
      const argv = [process.execPath, SELF, "--conn-client", String(p.echoPort), "--connections", String(o.connections)];
      p.connRate = Number(await output(spawn(client(p, argv)), argv, 120_000));
      console.error(`port forwarding, ${p.name}: ${p.connRate} connections/s`);
    }
    return { seconds: o.seconds, runs: o.runs, connections: o.connections, concurrency: CONCURRENCY, paths };
  } finally {
    for (const stop of stops) await stop();
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map((c) => c.exited));
    if (nsFd >= 0) libc.close(nsFd);
    run(["ip", "link", "del", "bnchpst0"]);
    if (keepNs) {
      run(["ip", "link", "del", "bnchkp0"]);
      removeNetns(keepNs.path);
    }
  }
}

export function portfwdMarkdown(r: PortfwdResult): string {
  const ctr = r.paths[0]!;
  const lim = r.paths.at(-1)!;
  const g = (xs: number[]) => fixed(median(xs), 2);
  const cpu = (p: PortfwdPath, xs: number[]) => (p.cpuPids.length ? fixed(median(xs), 2) : "–");
  const vs = (other: PortfwdPath) =>
    `| ctrnet / ${other.name} | ${ratio(median(ctr.fwd), median(other.fwd))} | ${ratio(median(ctr.rev), median(other.rev))} | ` +
    (other.cpuPids.length ? `${ratio(median(ctr.cpuFwd), median(other.cpuFwd))} / ${ratio(median(ctr.cpuRev), median(other.cpuRev))}` : "") +
    ` | ${ratio(ctr.connRate, other.connRate)} |`;
  return [
    `\`iperf3 -c 127.0.0.1 -t ${r.seconds} -J\` (and \`-R\`), median of ${r.runs} interleaved runs; ` +
      `${r.connections} connections (connect, 4 bytes each way, close), ${r.concurrency} at a time. ` +
      `CPU: user + system seconds of the forwarder's processes during one iperf3 run. Ratios above 1: ctrnet moves more, or uses more CPU.`,
    "",
    "| path | host → netns Gbit/s | netns → host (-R) Gbit/s | forwarder CPU s per run (→ / -R) | connections/s |",
    "|---|---:|---:|---:|---:|",
    ...r.paths.map((p) => `| ${p.name} | ${g(p.fwd)} | ${g(p.rev)} | ${cpu(p, p.cpuFwd)} / ${cpu(p, p.cpuRev)} | ${p.connRate} |`),
    ...r.paths.slice(1).map(vs),
    "",
    "Forwarders:",
    "",
    ...r.paths.filter((p) => p !== lim).map((p) => `- ${p.name}: \`${p.command}\``),
  ].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { "echo-server": { type: "string" }, "conn-client": { type: "string" }, connections: { type: "string", default: "3000" } } });
  if (values["echo-server"]) echoServer(Number(values["echo-server"]));
  else if (values["conn-client"]) await connClient(Number(values["conn-client"]), Number(values.connections));
  else {
    console.error("bench/portfwd.ts is a section of `npm run bench` (bun bench/run.ts --only portfwd); run directly it only takes --echo-server or --conn-client");
    process.exitCode = 2;
  }
}
