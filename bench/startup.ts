// Section 4: start-up, the floor under every ctrnet command and OCI hook call. Wall time by hyperfine (no shell
// in between, warm page cache), peak memory by GNU time, size on disk. A compiled Bun hello world is measured
// alongside: what no Bun program can go below, so the part of ctrnet's start-up that is its own is visible.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { CTRNET } from "./ctrnet.ts";
import { NETAVARK } from "./netavark.ts";
import { commandLine, run, timedWithPeakRss } from "./processes.ts";
import { median, mib, ms, p95, ratio } from "./stats.ts";

export interface StartupOptions {
  workDir: string;
  runs: number;
}

export interface StartupRow {
  name: string;
  command: string;
  wallMs: number[];
  rssBytes: number[];
  binaryBytes: number;
}

export interface StartupResult {
  runs: number;
  ctrnet: StartupRow;
  netavark: StartupRow;
  bunFloor: StartupRow;
}

const MEMORY_RUNS = 10;

export function startup(o: StartupOptions): StartupResult {
  const hello = `${o.workDir}/bun-hello`;
  writeFileSync(`${hello}.ts`, 'console.log("hello");\n');
  run([process.execPath, "build", "--compile", "--minify", `${hello}.ts`, "--outfile", hello]);
  const subjects: Array<[string, string[]]> = [
    ["ctrnet", [CTRNET, "version"]],
    ["netavark", [NETAVARK, "--version"]],
    ["Bun hello world (floor)", [hello]],
  ];
  const json = `${o.workDir}/hyperfine.json`;
  run(["hyperfine", "--shell=none", "--warmup", "3", "--runs", String(o.runs), "--export-json", json, "--style", "none", ...subjects.map(([, argv]) => commandLine(argv))]);
  const times = (JSON.parse(readFileSync(json, "utf8")) as { results: Array<{ times: number[] }> }).results.map((r) => r.times.map((t) => t * 1000));
  const [ctrnet, netavark, bunFloor] = subjects.map(([name, argv], k): StartupRow => ({
    name,
    command: commandLine(argv),
    wallMs: times[k]!,
    rssBytes: Array.from({ length: MEMORY_RUNS }, () => timedWithPeakRss(argv, `${o.workDir}/rss`).rssBytes),
    binaryBytes: statSync(argv[0]!).size,
  })) as [StartupRow, StartupRow, StartupRow];
  return { runs: o.runs, ctrnet, netavark, bunFloor };
}

export function startupMarkdown(r: StartupResult): string {
  const line = (x: StartupRow) =>
    `| ${x.name} | \`${x.command}\` | ${ms(median(x.wallMs))} | ${ms(p95(x.wallMs))} | ${mib(median(x.rssBytes))} | ${mib(x.binaryBytes)} |`;
  const vs = (name: string, a: StartupRow, b: StartupRow) =>
    `| ${name} | | ${ratio(median(a.wallMs), median(b.wallMs))} | ${ratio(p95(a.wallMs), p95(b.wallMs))} | ` +
    `${ratio(median(a.rssBytes), median(b.rssBytes))} | ${ratio(a.binaryBytes, b.binaryBytes)} |`;
  return [
    `hyperfine --shell=none --warmup 3 --runs ${r.runs}; peak RSS: median of ${MEMORY_RUNS} runs under GNU time. Ratios above 1: ctrnet is slower or larger.`,
    "",
    "| | command | wall median ms | wall p95 ms | peak RSS MiB | binary MiB |",
    "|---|---|---:|---:|---:|---:|",
    line(r.ctrnet),
    line(r.netavark),
    line(r.bunFloor),
    vs("ctrnet / netavark", r.ctrnet, r.netavark),
    vs("ctrnet / Bun floor", r.ctrnet, r.bunFloor),
  ].join("\n");
}
