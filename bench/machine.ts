// What the figures were measured on: they mean little without the machine, its load and the peers' versions.
import { availableParallelism, release } from "node:os";
import { readFileSync } from "node:fs";
import { CTRNET } from "./ctrnet.ts";
import { NETAVARK } from "./netavark.ts";
import { run } from "./processes.ts";

export const PEER_PACKAGES = ["netavark", "containernetworking-plugins", "rootlesskit", "slirp4netns", "passt", "iperf3", "hyperfine", "iptables", "time", "aardvark-dns", "dnsperf"];

export interface Machine {
  kernel: string;
  cpu: string;
  cores: number;
  memory: string;
  versions: Array<[string, string]>;
}

export function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

function packageVersion(pkg: string): string {
  try {
    return run(["dpkg-query", "-W", "-f", "${Version}", pkg]).trim() || "not installed";
  } catch {
    return "not installed";
  }
}

export function machine(): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const memKiB = Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1]);
  return {
    kernel: release(),
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: availableParallelism(),
    memory: `${(memKiB / 1024 / 1024).toFixed(1)} GiB`,
    versions: [
      ["ctrnet", `${run([CTRNET, "version"]).trim()} (dist/ctrnet, copied to ${CTRNET} for the run)`],
      ["bun (runs the bench)", Bun.version],
      ["netavark", `${run([NETAVARK, "--version"]).trim()} (${NETAVARK})`],
      ...PEER_PACKAGES.filter((p) => p !== "netavark").map((p): [string, string] => [p, `Debian package ${packageVersion(p)}`]),
    ],
  };
}
