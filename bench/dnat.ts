// Section 6: rootful port forwarding through the DNAT path, as a client on another machine gets it. A client
// netns on a veth (198.51.100.2, the host's end 198.51.100.1) runs iperf3 against the host's published port:
//   ctrnet     198.51.100.1:P1 -> ctrnet's nft map (inet ctrnet, prerouting DNAT) -> bridge -> container :5201
//   netavark   198.51.100.1:P2 -> netavark's iptables DNAT chains -> its bridge -> container :5201
//   limit      the container's own address, routed by the host (same veths and bridge, no DNAT)
// No process sits in the path for any of them: this measures the kernel work each ruleset asks for, and shows
// that the map lookup costs nothing a transfer can see. Runs inside the bench's sandbox (sandbox.ts).
import type { Subprocess } from "bun";
import { ctrnetHome } from "./ctrnet.ts";
import { NETAVARK, netavarkOptions } from "./netavark.ts";
import { commandLine, run } from "./processes.ts";
import { fixed, median, ratio } from "./stats.ts";
import { writeFileSync, mkdirSync } from "node:fs";

export interface DnatOptions {
  workDir: string;
  tag: string;
  seconds: number;
  runs: number;
}

export interface DnatPath {
  name: string;
  target: string;
  fwd: number[];
  rev: number[];
}

export interface DnatResult {
  seconds: number;
  runs: number;
  commands: string[];
  paths: DnatPath[];
}

const IPERF_PORT = 5201;
const CLIENT_NS = "dnat-client";

function sh(argv: string[]): void {
  run(argv);
}

/** Gbit/s of one iperf3 run from the client netns; NaN when a loaded machine made it fail. */
function iperf(host: string, port: number, seconds: number, reverse: boolean): number {
  const argv = ["ip", "netns", "exec", CLIENT_NS, "iperf3", "-c", host, "-p", String(port), "-t", String(seconds), "-J", ...(reverse ? ["-R"] : [])];
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", timeout: (seconds + 20) * 1000 });
  try {
    const j = JSON.parse(r.stdout.toString());
    const bps = reverse ? j.end.sum_sent.bits_per_second : j.end.sum_received.bits_per_second;
    return typeof bps === "number" ? bps / 1e9 : NaN;
  } catch {
    console.error(`dnat: ${commandLine(argv)}: ${r.stderr.toString().trim() || "no JSON"}`);
    return NaN;
  }
}

export async function dnatForwarding(o: DnatOptions): Promise<DnatResult> {
  const home = ctrnetHome(`${o.workDir}/ctrnet`);
  const servers: Subprocess[] = [];
  const net = `dnat-${o.tag}`;
  const ctr = `dnat-c-${o.tag}`;
  const nvNs = `nv-dnat-${o.tag}`;
  const nvDir = `${o.workDir}/netavark`;
  const nvOptionsFile = `${o.workDir}/netavark-options.json`;
  mkdirSync(nvDir, { recursive: true });
  const nvOptions = netavarkOptions({
    containerId: `nv-dnat-${o.tag}`,
    network: `nvd-${o.tag}`,
    bridge: `nvd${o.tag}`,
    subnet: "10.97.0.0/24",
    ip: "10.97.0.5",
    hostPort: 15202,
    containerPort: IPERF_PORT,
  }) as { port_mappings: { host_ip: string }[] };
  nvOptions.port_mappings[0]!.host_ip = ""; // every host address, as -p 15202:5201
  writeFileSync(nvOptionsFile, JSON.stringify(nvOptions));
  const netavark = (cmd: "setup" | "teardown") => [NETAVARK, "--config", nvDir, "-f", nvOptionsFile, cmd, `/run/netns/${nvNs}`];
  const ctrnetCreate = ["create", "--network", net, "-p", `15201:${IPERF_PORT}`, "--ip", "10.96.0.5", ctr];
  try {
    // the client's side of the world: a veth to the host, the host forwards
    sh(["ip", "netns", "add", CLIENT_NS]);
    sh(["ip", "link", "add", "dnat-h", "type", "veth", "peer", "name", "dnat-c", "netns", CLIENT_NS]);
    sh(["ip", "addr", "add", "198.51.100.1/24", "dev", "dnat-h"]);
    sh(["ip", "link", "set", "dnat-h", "up"]);
    sh(["ip", "-n", CLIENT_NS, "addr", "add", "198.51.100.2/24", "dev", "dnat-c"]);
    sh(["ip", "-n", CLIENT_NS, "link", "set", "dnat-c", "up"]);
    sh(["ip", "-n", CLIENT_NS, "link", "set", "lo", "up"]);
    sh(["ip", "-n", CLIENT_NS, "route", "add", "default", "via", "198.51.100.1"]);

    home.run(["network", "create", "--subnet", "10.96.0.0/24", net]);
    const netns = home.run(ctrnetCreate).stdout.trim();
    servers.push(Bun.spawn(["nsenter", `--net=${netns}`, "iperf3", "-s", "-p", String(IPERF_PORT)], { stdout: "ignore", stderr: "ignore" }));

    sh(["ip", "netns", "add", nvNs]);
    run(netavark("setup"));
    servers.push(Bun.spawn(["ip", "netns", "exec", nvNs, "iperf3", "-s", "-p", String(IPERF_PORT)], { stdout: "ignore", stderr: "ignore" }));
    await Bun.sleep(300);

    const paths: DnatPath[] = [
      { name: "ctrnet (nft map DNAT)", target: "198.51.100.1:15201", fwd: [], rev: [] },
      { name: "netavark (iptables DNAT)", target: "198.51.100.1:15202", fwd: [], rev: [] },
      { name: "routed to the container, no DNAT (limit)", target: `10.96.0.5:${IPERF_PORT}`, fwd: [], rev: [] },
    ];
    for (let i = 0; i < o.runs; i++) {
      for (const p of paths) {
        const [host, port] = p.target.split(":") as [string, string];
        p.fwd.push(iperf(host, Number(port), o.seconds, false));
        p.rev.push(iperf(host, Number(port), o.seconds, true));
      }
    }
    return {
      seconds: o.seconds,
      runs: o.runs,
      commands: [`ctrnet ${commandLine(ctrnetCreate)}`, commandLine(netavark("setup"))],
      paths: paths.map((p) => ({ ...p, fwd: p.fwd.filter(Number.isFinite), rev: p.rev.filter(Number.isFinite) })),
    };
  } finally {
    for (const s of servers) s.kill("SIGKILL");
    await Promise.all(servers.map((s) => s.exited));
    Bun.spawnSync(netavark("teardown"), { stdout: "ignore", stderr: "ignore" });
    for (const argv of [["rm", "-f", ctr], ["network", "rm", "-f", net]]) Bun.spawnSync([home.binary, ...argv], { env: home.env, stdout: "ignore", stderr: "ignore" });
    for (const ns of [nvNs, CLIENT_NS]) Bun.spawnSync(["ip", "netns", "del", ns], { stdout: "ignore", stderr: "ignore" });
  }
}

export function dnatMarkdown(r: DnatResult): string {
  const [own, nv, limit] = r.paths as [DnatPath, DnatPath, DnatPath];
  const g = (xs: number[]) => fixed(median(xs), 2);
  return [
    "A client in another netns (198.51.100.2, on a veth to the host) runs iperf3 against the host's published port; " +
      `\`iperf3 -c TARGET -t ${r.seconds} -J\` (and \`-R\`), median of ${r.runs} interleaved runs, Gbit/s.`,
    "",
    "| path | target | client → container | container → client |",
    "|---|---|---:|---:|",
    ...r.paths.map((p) => `| ${p.name} | ${p.target} | ${g(p.fwd)} | ${g(p.rev)} |`),
    `| ctrnet / netavark | | ${ratio(median(own.fwd), median(nv.fwd))} | ${ratio(median(own.rev), median(nv.rev))} |`,
    `| ctrnet / limit | | ${ratio(median(own.fwd), median(limit.fwd))} | ${ratio(median(own.rev), median(limit.rev))} |`,
    "",
    `Set-up: ${r.commands.map((c) => `\`${c}\``).join("; ")}.`,
  ].join("\n");
}
