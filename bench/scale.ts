// Section 3: N containers on one ctrnet network, each with one published port as in section 1, created one after
// the other and then all removed; then a search for anything they left behind. Each create runs under GNU time for
// its peak memory, which adds its own fork and exec (about a millisecond) to the times here against section 1's.
// Run twice: on a network of the reference plugin chain (iptables rules per container), and on a native network
// (type ctrnet: nftables map elements per container, no process), where a 1000-port range is timed too.
// Which step of a native attach or detach grows with the count: bench/scale-steps.ts (in-process, per step and
// per rtnetlink call with STEP_DETAIL=1, at 1 and N containers; a few minutes, not part of the report).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { ctrnetHome, type CtrnetHome } from "./ctrnet.ts";
import { NETAVARK, netavarkOptions } from "./netavark.ts";
import { commandLine, run, timed, timedWithPeakRss } from "./processes.ts";
import { fixed, max, median, mib, ms, p95 } from "./stats.ts";

export interface ScaleOptions {
  workDir: string;
  tag: string;
  count: number;
  /** A network of ctrnet's own plugin type instead of the reference chain. */
  native?: boolean;
}

export interface ScaleResult {
  count: number;
  native: boolean;
  createCommand: string;
  attachMs: number[];
  rssBytes: number[];
  detachMs: number[];
  stateBytes: number;
  leftovers: string[];
  /** Native only: one container publishing a 1000-port range. */
  range?: { command: string; attachMs: number[]; detachMs: number[]; elements: number };
  /** Native only: the peer doing the same on one network of its own (fewer containers: see netavarkScale). */
  netavark?: NetavarkScale;
}

/** `netavark setup` of `count` containers on one network, then `teardown` of each, as podman runs them. */
export interface NetavarkScale {
  count: number;
  setupCommand: string;
  attachMs: number[];
  detachMs: number[];
}

/** Median of the last n attaches over the first n, among the first `upTo`: the growth ratio of the report. */
export function growth(attachMs: readonly number[], upTo = attachMs.length, n = 100): number {
  const a = attachMs.slice(0, upTo);
  return median(a.slice(-n)) / median(a.slice(0, n));
}

const NETAVARK_PREFIX = "10.95.";

/**
 * The peer at scale, for the kernel's share of the growth: each container a netns of its own (made and
 * removed with `ip netns`, untimed) with one published port, `netavark setup` timed as section 1 times it.
 * What grows in both ctrnet's and netavark's attach is the kernel's (one bridge with more ports, more links,
 * more netns), what grows in one only is its own.
 */
export function netavarkScale(o: { workDir: string; tag: string; count: number }): NetavarkScale {
  const dir = `${o.workDir}/netavark`;
  mkdirSync(dir, { recursive: true });
  const netns = (i: number) => `nvs${i}-${o.tag}`;
  const options = (i: number) => `${dir}/options-${i}.json`;
  const argv = (command: "setup" | "teardown", i: number) => [NETAVARK, "--config", `${dir}/config`, "-f", options(i), command, `/run/netns/${netns(i)}`];
  const attachMs: number[] = [];
  const detachMs: number[] = [];
  for (let i = 1; i <= o.count; i++) {
    const host = i + 1;
    writeFileSync(
      options(i),
      JSON.stringify(
        netavarkOptions({
          containerId: `nvs${i}-${o.tag}`, network: `nvscale-${o.tag}`, bridge: `nvs${o.tag}`, subnet: `${NETAVARK_PREFIX}0.0/16`,
          ip: `${NETAVARK_PREFIX}${host >> 8}.${host & 255}`, hostPort: 30000 + i, containerPort: 80,
        }),
      ),
    );
    run(["ip", "netns", "add", netns(i)]);
    attachMs.push(timed(argv("setup", i)).ms);
    if (i % 100 === 0) console.error(`scale (netavark): ${i}/${o.count} set up`);
  }
  for (let i = 1; i <= o.count; i++) {
    detachMs.push(timed(argv("teardown", i)).ms);
    run(["ip", "netns", "delete", netns(i)]);
  }
  return { count: o.count, setupCommand: commandLine(argv("setup", 1)).replaceAll(`nvs1-${o.tag}`, "NS").replace("options-1", "options-I"), attachMs, detachMs };
}

const SUBNET_PREFIX = "10.91.";
const NATIVE_PREFIX = "10.92.";

function dirBytes(path: string): number {
  return readdirSync(path, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + Bun.file(`${e.parentPath}/${e.name}`).size, 0);
}

/** Elements of ctrnet's nftables maps and sets that name the prefix (the containers' published ports). */
function nftElements(prefix: string): number {
  let listing: string;
  try {
    listing = run(["nft", "list", "table", "inet", "ctrnet"]);
  } catch {
    return 0;
  }
  return listing.split(/[,{}\n]/).filter((e) => e.includes(prefix) && e.includes(":")).length;
}

function leftovers(home: CtrnetHome, ipamDir: string, prefix: string): string[] {
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
  const rules = run(["iptables-save"]).split("\n").filter((l) => l.startsWith("-A") && (l.includes(prefix) || l.includes("CNI-DN-")));
  if (rules.length) found.push(`${rules.length} iptables rules`);
  const elements = nftElements(prefix);
  if (elements) found.push(`${elements} nftables map elements`);
  const records = existsSync(`${home.env.CTRNET_ROOT}/native`) ? readdirSync(`${home.env.CTRNET_ROOT}/native`).length : 0;
  if (records) found.push(`${records} native attachment records`);
  const leases = existsSync(ipamDir) ? readdirSync(ipamDir).filter((f) => f.startsWith(prefix)) : [];
  if (leases.length) found.push(`${leases.length} host-local leases`);
  const cached = readdirSync(`${home.env.CTRNET_CNI_CACHE_DIR}/results`);
  if (cached.length) found.push(`${cached.length} cached CNI results`);
  return found;
}

export function scale(o: ScaleOptions & { netavarkCount?: number }): ScaleResult {
  const home = ctrnetHome(`${o.workDir}/ctrnet${o.native ? "-native" : ""}`);
  const network = `scale${o.native ? "n" : ""}-${o.tag}`;
  const prefix = o.native ? NATIVE_PREFIX : SUBNET_PREFIX;
  if (o.native) {
    const conf = home.run(["cni", "conflist", network, "--subnet", `${prefix}0.0/16`, "--ipam-data-dir", `${home.env.CTRNET_CNI_CACHE_DIR}/networks`]).stdout;
    mkdirSync(home.env.CTRNET_CNI_CONFIG_DIR!, { recursive: true });
    writeFileSync(`${home.env.CTRNET_CNI_CONFIG_DIR}/${network}.conflist`, conf);
  } else {
    home.run(["network", "create", "--subnet", `${prefix}0.0/16`, network]);
  }
  const id = (i: number) => `s${i}-${o.tag}`;
  const create = (i: number) => ["create", "--network", network, "-p", `127.0.0.1:${20000 + i}:80`, id(i)];
  const attachMs: number[] = [];
  const rssBytes: number[] = [];
  const detachMs: number[] = [];
  for (let i = 1; i <= o.count; i++) {
    const t = timedWithPeakRss([home.binary, ...create(i)], `${o.workDir}/rss`, { env: home.env });
    attachMs.push(t.ms);
    rssBytes.push(t.rssBytes);
    if (i % 100 === 0) console.error(`scale${o.native ? " (native)" : ""}: ${i}/${o.count} attached, the last in ${ms(t.ms)} ms`);
  }
  const stateBytes = dirBytes(home.dir);
  for (let i = 1; i <= o.count; i++) detachMs.push(home.run(["rm", id(i)]).ms);
  const range = o.native ? portRange(home, network, o.tag) : undefined;
  const netavark = o.native && o.netavarkCount ? netavarkScale({ workDir: o.workDir, tag: o.tag, count: o.netavarkCount }) : undefined;
  return {
    count: o.count,
    native: o.native === true,
    ...(range ? { range } : {}),
    ...(netavark ? { netavark } : {}),
    createCommand: `ctrnet ${create(1).join(" ").replace(id(1), "ID")}`,
    attachMs,
    rssBytes,
    detachMs,
    stateBytes,
    leftovers: leftovers(home, `${home.env.CTRNET_CNI_CACHE_DIR}/networks/${network}`, prefix),
  };
}

const RANGE_RUNS = 5;

/** `-p 1-1000:1-1000` on the native network: 1000 map elements added in one batch, and removed in one. */
function portRange(home: CtrnetHome, network: string, tag: string): NonNullable<ScaleResult["range"]> {
  const id = `range-${tag}`;
  const create = ["create", "--network", network, "-p", "1-1000:1-1000", id];
  const attachMs: number[] = [];
  const detachMs: number[] = [];
  let elements = 0;
  for (let i = 0; i < RANGE_RUNS; i++) {
    attachMs.push(home.run(create).ms);
    elements = nftElements(NATIVE_PREFIX);
    detachMs.push(home.run(["rm", id]).ms);
  }
  return { command: `ctrnet ${create.join(" ")}`, attachMs, detachMs, elements };
}

export function scaleMarkdown(r: ScaleResult): string {
  const nth = (r.native ? [1, 100, 500, 1000] : [1, 50, 100, 200]).filter((n) => n <= r.count);
  const range = r.range;
  return [
    `${r.count} containers on one ${r.native ? "native network (type ctrnet: per-container data are nftables map elements, no process started)" : "network of the reference plugin chain"}, created one after the other, then removed one by one. ms of wall time; memory is the peak RSS of the \`ctrnet create\` process tree.`,
    "",
    `| | ${nth.map((n) => `${n}${n === 1 ? "st" : "th"}`).join(" | ")} | median of all | p95 of all |`,
    `|---|${nth.map(() => "---:").join("|")}|---:|---:|`,
    `| attach ms | ${nth.map((n) => ms(r.attachMs[n - 1]!)).join(" | ")} | ${ms(median(r.attachMs))} | ${ms(p95(r.attachMs))} |`,
    `| peak RSS MiB | ${nth.map((n) => mib(r.rssBytes[n - 1]!)).join(" | ")} | ${mib(median(r.rssBytes))} | max ${mib(max(r.rssBytes))} |`,
    `| detach ms | ${nth.map((n) => ms(r.detachMs[n - 1]!)).join(" | ")} | ${ms(median(r.detachMs))} | ${ms(p95(r.detachMs))} |`,
    "",
    `Total: attach ${fixed(r.attachMs.reduce((a, b) => a + b, 0) / 1000, 1)} s, detach ${fixed(r.detachMs.reduce((a, b) => a + b, 0) / 1000, 1)} s; ` +
      `ctrnet's state and CNI cache with all ${r.count} attached: ${fixed(r.stateBytes / 1024, 0)} KiB. ` +
      `Left behind after removing all: ${r.leftovers.length ? r.leftovers.join(", ") : "nothing (no container record, netns file, nsfs mount, veth, iptables rule, nftables element, native attachment record, host-local lease or cached CNI result)"}.`,
    "",
    `Command: \`${r.createCommand}\`, then \`ctrnet rm ID\` for each.`,
    ...(range
      ? [
          "",
          `One container publishing 1000 ports (\`${range.command}\`, then \`ctrnet rm\`; ${range.attachMs.length} runs, ${range.elements} map elements while it ran): ` +
            `create median ${ms(median(range.attachMs))} ms (max ${ms(max(range.attachMs))}), rm median ${ms(median(range.detachMs))} ms (max ${ms(max(range.detachMs))}).`,
        ]
      : []),
    ...(r.netavark ? ["", netavarkMarkdown(r, r.netavark)] : []),
  ].join("\n");
}

/** The growth of ctrnet's attach beside netavark's, at the same container count. */
function netavarkMarkdown(r: ScaleResult, nv: NetavarkScale): string {
  const n = Math.min(100, Math.floor(nv.count / 3));
  const at = Math.min(nv.count, r.count);
  const x = (v: number) => `${fixed(v, 2)}×`;
  return [
    `The peer on one network: ${nv.count} containers, each in a netns of its own with one published port, \`${nv.setupCommand}\` then \`teardown\` for each (ms; growth = median of the last ${n} attaches over the first ${n}; what grows in both is the kernel's share: one bridge with more ports, more links and netns).`,
    "",
    `| | 1st | ${at}th | median of the first ${n} | median of the last ${n} | growth at ${at} |${at < r.count ? ` growth at ${r.count} |` : ""}`,
    `|---|---:|---:|---:|---:|---:|${at < r.count ? "---:|" : ""}`,
    `| ctrnet native attach | ${ms(r.attachMs[0]!)} | ${ms(r.attachMs[at - 1]!)} | ${ms(median(r.attachMs.slice(0, n)))} | ${ms(median(r.attachMs.slice(at - n, at)))} | ${x(growth(r.attachMs, at, n))} |${at < r.count ? ` ${x(growth(r.attachMs, r.count, n))} |` : ""}`,
    `| netavark setup | ${ms(nv.attachMs[0]!)} | ${ms(nv.attachMs[at - 1]!)} | ${ms(median(nv.attachMs.slice(0, n)))} | ${ms(median(nv.attachMs.slice(at - n, at)))} | ${x(growth(nv.attachMs, at, n))} |${at < r.count ? " |" : ""}`,
    "",
    `netavark teardown: median ${ms(median(nv.detachMs))} ms, p95 ${ms(p95(nv.detachMs))} ms.`,
  ].join("\n");
}
