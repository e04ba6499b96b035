// Port forwarding from the host's 127.0.0.1 into a network namespace: ctrnet's forwarder (`ctrnet _rootlessport`)
// against rootlesskit's builtin port driver, with plain loopback inside the namespace as the limit.
//
// The same server for every path. rootlesskit insists on making its own user + network namespace, so that
// namespace hosts the servers (iperf3 -s as rootlesskit's command, and a small echo server), and:
//   ctrnet       host 127.0.0.1:P1 -> ctrnet _rootlessport -> connect from inside the netns to 127.0.0.1:5201
//   rootlesskit  host 127.0.0.1:P2 -> rootlesskit parent -> socket its child dialed in the netns -> 127.0.0.1:5201
//   loopback     iperf3 -c 127.0.0.1:5201 run inside the netns: no forwarder at all
// Both forwarders end on the netns's loopback, so they differ only in the forwarder itself.
//
// Everything runs in private namespaces (network, mount with a tmpfs /run, pid with this script as pid 1), so
// traffic stays on loopback and nothing outlives the run, whether it ends, fails or is interrupted.
// Usage: bun bench/portfwd.ts [--seconds 10] [--runs 3] [--connections 3000]
// Needs root, iperf3, rootlesskit and slirp4netns (apt-get install iperf3 rootlesskit).
import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import * as libc from "../ffi/libc.ts";
import { startPortForwarder, type PortForwarder } from "../src/drivers/portfwd/index.ts";
import { withNetns } from "../test/helpers/netns.ts";
import { ensureBinary, ROOT } from "../test/helpers/binary.ts";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    runs: { type: "string", default: "3" },
    connections: { type: "string", default: "3000" },
    inner: { type: "boolean", default: false },
    "echo-server": { type: "string" },
    "conn-client": { type: "string" },
  },
});
const SECONDS = Number(opts.seconds);
const RUNS = Number(opts.runs);
const CONNECTIONS = Number(opts.connections);
const CONCURRENCY = 8;
const IPERF_PORT = 5201;
const ECHO_PORT = 7000;
const CTRNET_PORT = 15201;
const CTRNET_ECHO = 17000;
const RLK_PORT = 25201;
const RLK_ECHO = 27000;
const STATE = "/run/ctrnet-bench";
const USER_HZ = 100;

/** Helper mode: an echo server, run inside the netns. */
function echoServer(port: number): void {
  Bun.listen({ hostname: "127.0.0.1", port, socket: { data: (s, d) => void s.write(d) } });
}

/** Helper mode: `count` times connect, send 4 bytes, read them back, close; prints connections per second. */
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

const children: Subprocess[] = [];
function spawnTracked(argv: string[]): Subprocess<"ignore", "pipe", "pipe"> {
  const p = Bun.spawn(argv, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(p);
  return p;
}

async function output(p: Subprocess<"ignore", "pipe", "pipe">, what: string, limitMs: number): Promise<string> {
  const timer = setTimeout(() => p.kill("SIGKILL"), limitMs);
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (p.exitCode !== 0) throw new Error(`${what} failed (${p.exitCode ?? p.signalCode}): ${err.trim() || out.trim()}`);
  return out;
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

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
};

interface Path {
  name: string;
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

async function waitForPort(port: number, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {} } })
      .then((s) => (s.end(), true))
      .catch(() => false);
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error(`${what} never listened on 127.0.0.1:${port}`);
}

async function waitForFile(path: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    try {
      const text = readFileSync(path, "utf8").trim();
      if (text) return text;
    } catch {
      // not written yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`${path} never appeared`);
}

async function inner(): Promise<void> {
  const binary = ensureBinary();
  const rlk = spawnTracked([
    "rootlesskit", `--state-dir=${STATE}/rootlesskit`, "--net=slirp4netns", "--disable-host-loopback", "--port-driver=builtin",
    "-p", `127.0.0.1:${RLK_PORT}:${IPERF_PORT}/tcp`, "-p", `127.0.0.1:${RLK_ECHO}:${ECHO_PORT}/tcp`,
    "--", "iperf3", "-s", "-p", String(IPERF_PORT),
  ]);
  const rlkLog = new Response(rlk.stderr).text();
  const childPid = Number(await waitForFile(`${STATE}/rootlesskit/child_pid`).catch(async (e) => {
    throw new Error(`rootlesskit did not start: ${(e as Error).message}\n${rlk.killed ? "" : await Promise.race([rlkLog, Bun.sleep(500).then(() => "")])}`);
  }));
  const netnsPath = `/proc/${childPid}/ns/net`;
  const nsFd = libc.open(netnsPath, libc.O_RDONLY);
  const echo = withNetns(nsFd, () => spawnTracked([process.execPath, `${ROOT}/bench/portfwd.ts`, "--echo-server", String(ECHO_PORT)]));
  await waitForPort(RLK_PORT, "rootlesskit");
  await waitForPort(RLK_ECHO, "echo server via rootlesskit");

  const fwd: PortForwarder = await startPortForwarder({
    binary,
    netnsPath,
    childIP: "127.0.0.1",
    ports: [
      { hostIP: "127.0.0.1", hostPort: CTRNET_PORT, containerPort: IPERF_PORT, protocol: "tcp" },
      { hostIP: "127.0.0.1", hostPort: CTRNET_ECHO, containerPort: ECHO_PORT, protocol: "tcp" },
    ],
  });
  const stopAll = async () => {
    await fwd.stop();
    for (const c of children) c.kill("SIGKILL");
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => void stopAll().finally(() => process.exit(130)));
  }

  const base = { fwd: [], rev: [], cpuFwd: [], cpuRev: [], connRate: NaN };
  const paths: Path[] = [
    { name: "ctrnet _rootlessport", iperfPort: CTRNET_PORT, echoPort: CTRNET_ECHO, inside: false, cpuPids: [fwd.pid], ...structuredClone(base) },
    { name: "rootlesskit builtin", iperfPort: RLK_PORT, echoPort: RLK_ECHO, inside: false, cpuPids: [rlk.pid, childPid], ...structuredClone(base) },
    { name: "loopback in the netns (limit)", iperfPort: IPERF_PORT, echoPort: ECHO_PORT, inside: true, cpuPids: [], ...structuredClone(base) },
  ];
  const client = (path: Path, argv: string[]) => (path.inside ? withNetns(nsFd, () => spawnTracked(argv)) : spawnTracked(argv));

  try {
    // Interleaved, so a slow moment of the machine hits every path alike.
    for (let run = 1; run <= RUNS; run++) {
      for (const path of paths) {
        for (const reverse of [false, true]) {
          const before = cpuSeconds(path.cpuPids);
          const argv = ["iperf3", "-c", "127.0.0.1", "-p", String(path.iperfPort), "-t", String(SECONDS), "-J", ...(reverse ? ["-R"] : [])];
          const json = JSON.parse(await output(client(path, argv), `iperf3 via ${path.name}`, (SECONDS + 20) * 1000));
          const gbits = json.end.sum_received.bits_per_second / 1e9;
          (reverse ? path.rev : path.fwd).push(gbits);
          (reverse ? path.cpuRev : path.cpuFwd).push(cpuSeconds(path.cpuPids) - before);
          console.error(`run ${run}/${RUNS} ${path.name}${reverse ? " -R" : ""}: ${gbits.toFixed(2)} Gbit/s`);
        }
      }
    }
    for (const path of paths) {
      const argv = [process.execPath, `${ROOT}/bench/portfwd.ts`, "--conn-client", String(path.echoPort), "--connections", String(CONNECTIONS)];
      path.connRate = Number(await output(client(path, argv), `connection client via ${path.name}`, 120_000));
      console.error(`${path.name}: ${path.connRate} connections/s`);
    }
  } finally {
    await stopAll();
    libc.close(nsFd);
  }
  report(paths);
}

function report(paths: Path[]): void {
  const [ctr, rlk, lim] = paths as [Path, Path, Path];
  const g = (xs: number[]) => median(xs).toFixed(2);
  const c = (p: Path, xs: number[]) => (p.cpuPids.length ? median(xs).toFixed(2) : "–");
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log(`\niperf3 -c 127.0.0.1 -t ${SECONDS}, median of ${RUNS} runs; ${CONNECTIONS} connections (connect, 4 bytes each way, close), ${CONCURRENCY} at a time\n`);
  console.log("| path | host → netns Gbit/s | netns → host (-R) Gbit/s | forwarder CPU s per run (→ / -R) | connections/s |");
  console.log("|---|---:|---:|---:|---:|");
  for (const p of paths) console.log(`| ${p.name} | ${g(p.fwd)} | ${g(p.rev)} | ${c(p, p.cpuFwd)} / ${c(p, p.cpuRev)} | ${p.connRate} |`);
  console.log(
    `| ctrnet / rootlesskit | ${ratio(median(ctr.fwd), median(rlk.fwd))} | ${ratio(median(ctr.rev), median(rlk.rev))} | ` +
      `${ratio(median(ctr.cpuFwd), median(rlk.cpuFwd))} / ${ratio(median(ctr.cpuRev), median(rlk.cpuRev))} | ${ratio(ctr.connRate, rlk.connRate)} |`,
  );
  console.log(
    `| ctrnet / limit | ${ratio(median(ctr.fwd), median(lim.fwd))} | ${ratio(median(ctr.rev), median(lim.rev))} | | ${ratio(ctr.connRate, lim.connRate)} |`,
  );
}

/** Re-runs this script as pid 1 of private namespaces; the kernel ends everything it started when it exits. */
async function outer(): Promise<number> {
  ensureBinary();
  const setup = [
    "mount -t tmpfs -o mode=0755 tmpfs /run",
    "ip link set lo up",
    `mkdir -p ${STATE}`,
    // rootlesskit maps a subordinate id range even for root; give root one, in this mount namespace only.
    `echo root:100000:65536 > ${STATE}/subid`,
    `mount --bind ${STATE}/subid /etc/subuid`,
    `mount --bind ${STATE}/subid /etc/subgid`,
    'exec "$@"',
  ].join(" && ");
  const child = Bun.spawn(
    ["unshare", "--net", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--mount-proc",
      "--", "sh", "-c", setup, "sh", process.execPath, import.meta.path, "--inner", ...process.argv.slice(2)],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => child.kill("SIGTERM"));
  return await child.exited;
}

if (opts["echo-server"]) echoServer(Number(opts["echo-server"]));
else if (opts["conn-client"]) await connClient(Number(opts["conn-client"]), CONNECTIONS);
else if (opts.inner) await inner();
else process.exitCode = await outer();
