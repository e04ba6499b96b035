// Section 3: N containers on one ctrnet network, each with one published port as in section 1, created one after
// the other and then all removed; then a search for anything they left behind. Each create runs under GNU time for
// its peak memory, which adds its own fork and exec (about a millisecond) to the times here against section 1's.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { ctrnetHome, type CtrnetHome } from "./ctrnet.ts";
import { run, timedWithPeakRss } from "./processes.ts";
import { fixed, max, median, mib, ms, p95 } from "./stats.ts";

export interface ScaleOptions {
  workDir: string;
  tag: string;
  count: number;
}

export interface ScaleResult {
  count: number;
  createCommand: string;
  attachMs: number[];
  rssBytes: number[];
  detachMs: number[];
  stateBytes: number;
  leftovers: string[];
}

const SUBNET_PREFIX = "10.91.";

function dirBytes(path: string): number {
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + Bun.file(`${e.parentPath}/${e.name}`).size, 0);
}

function leftovers(home: CtrnetHome, ipamDir: string): string[] {
  const found: string[] = [];
  const containers = JSON.parse(home.run(["ls", "--format", "json"]).stdout || "[]") as unknown[];
  if (containers.length) found.push(`${containers.length} containers in \`ctrnet ls\``);
  const netnsDir = home.env.CTRNET_NETNS_DIR!;
  const netnsFiles = existsSync(netnsDir) ? readdirSync(netnsDir) : [];
  if (netnsFiles.length) found.push(`${netnsFiles.length} netns files`);
  const nsfsMounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes(" nsfs ") && l.split(" ")[4]?.startsWith(`${netnsDir}/`)).length;
  if (nsfsMounts) found.push(`${nsfsMounts} nsfs mounts`);
  const veths = run(["ip", "-o", "link", "show", "type", "veth"]).trim();
  if (veths) found.push(`${veths.split("\n").length} veth links`);
  const rules = run(["iptables-save"]).split("\n").filter((l) => l.startsWith("-A") && (l.includes(SUBNET_PREFIX) || l.includes("CNI-DN-")));
  if (rules.length) found.push(`${rules.length} iptables rules`);
  const leases = existsSync(ipamDir) ? readdirSync(ipamDir).filter((f) => f.startsWith(SUBNET_PREFIX)) : [];
  if (leases.length) found.push(`${leases.length} host-local leases`);
  const cached = readdirSync(`${home.env.CTRNET_CNI_CACHE_DIR}/results`);
  if (cached.length) found.push(`${cached.length} cached CNI results`);
  return found;
}

export function scale(o: ScaleOptions): ScaleResult {
  const home = ctrnetHome(`${o.workDir}/ctrnet`);
  const network = `scale-${o.tag}`;
  home.run(["network", "create", "--subnet", `${SUBNET_PREFIX}0.0/16`, network]);
  const id = (i: number) => `s${i}-${o.tag}`;
  const create = (i: number) => ["create", "--network", network, "-p", `127.0.0.1:${20000 + i}:80`, id(i)];
  const attachMs: number[] = [];
  const rssBytes: number[] = [];
  const detachMs: number[] = [];
  for (let i = 1; i <= o.count; i++) {
    const t = timedWithPeakRss([home.binary, ...create(i)], `${o.workDir}/rss`, { env: home.env });
    attachMs.push(t.ms);
    rssBytes.push(t.rssBytes);
    if (i % 50 === 0) console.error(`scale: ${i}/${o.count} attached, the last in ${ms(t.ms)} ms`);
  }
  const stateBytes = dirBytes(home.dir);
  for (let i = 1; i <= o.count; i++) detachMs.push(home.run(["rm", id(i)]).ms);
  return {
    count: o.count,
    createCommand: `ctrnet ${create(1).join(" ").replace(id(1), "ID")}`,
    attachMs,
    rssBytes,
    detachMs,
    stateBytes,
    leftovers: leftovers(home, `${home.env.CTRNET_CNI_CACHE_DIR}/networks/${network}`),
  };
}

export function scaleMarkdown(r: ScaleResult): string {
  const nth = [1, 50, 100, 200].filter((n) => n <= r.count);
  return [
    `${r.count} containers on one network, created one after the other, then removed one by one. ms of wall time; memory is the peak RSS of the \`ctrnet create\` process tree.`,
    "",
    `| | ${nth.map((n) => `${n}${n === 1 ? "st" : "th"}`).join(" | ")} | median of all | p95 of all |`,
    `|---|${nth.map(() => "---:").join("|")}|---:|---:|`,
    `| attach ms | ${nth.map((n) => ms(r.attachMs[n - 1]!)).join(" | ")} | ${ms(median(r.attachMs))} | ${ms(p95(r.attachMs))} |`,
    `| peak RSS MiB | ${nth.map((n) => mib(r.rssBytes[n - 1]!)).join(" | ")} | ${mib(median(r.rssBytes))} | max ${mib(max(r.rssBytes))} |`,
    `| detach ms | ${nth.map((n) => ms(r.detachMs[n - 1]!)).join(" | ")} | ${ms(median(r.detachMs))} | ${ms(p95(r.detachMs))} |`,
    "",
    `Total: attach ${fixed(r.attachMs.reduce((a, b) => a + b, 0) / 1000, 1)} s, detach ${fixed(r.detachMs.reduce((a, b) => a + b, 0) / 1000, 1)} s; ` +
      `ctrnet's state and CNI cache with all ${r.count} attached: ${fixed(r.stateBytes / 1024, 0)} KiB. ` +
      `Left behind after removing all: ${r.leftovers.length ? r.leftovers.join(", ") : "nothing (no container record, netns file, nsfs mount, veth, iptables rule, host-local lease or cached CNI result)"}.`,
    "",
    `Command: \`${r.createCommand}\`, then \`ctrnet rm ID\` for each.`,
  ].join("\n");
}
