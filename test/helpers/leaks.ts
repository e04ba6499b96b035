// What a test can leave behind, read cheaply from /proc and netlink (no process spawns except the iptables dumps).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isNetlinkError } from "../../src/netlink/index.ts";
import { Nftables, type Expr, type SetElement } from "../../src/netlink/nftables/index.ts";

export interface Snapshot {
  nsfsMounts: Set<string>;
  interfaces: Set<string>;
  processes: Map<number, string>;
  netnsFiles: Set<string>;
  tmpDirs: Set<string>;
  lockFiles: Set<string>;
  attachmentFiles: Set<string>;
  firewall: Set<string>;
}

function nsfsMounts(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [pre, post] = line.split(" - ");
    if (post?.startsWith("nsfs ")) out.add(pre!.split(" ")[4]!);
  }
  return out;
}

/** Interfaces of the netns this thread is in (/proc/net/dev follows the reader's netns, unlike /sys). */
function interfaces(): Set<string> {
  const lines = readFileSync("/proc/net/dev", "utf8").split("\n").slice(2);
  return new Set(lines.map((l) => l.split(":")[0]!.trim()).filter(Boolean));
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/** Live (non-zombie) descendants of this test process, pid -> command line. */
function descendants(root: number): Map<number, string> {
  const parent = new Map<number, number>();
  const info = new Map<number, { state: string; comm: string }>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const fields = stat.slice(close + 2).split(" ");
      parent.set(pid, Number(fields[1]));
      info.set(pid, { state: fields[0]!, comm: stat.slice(stat.indexOf("(") + 1, close) });
    } catch {
      // the process exited while we were reading
    }
  }
  const out = new Map<number, string>();
  for (const [pid, i] of info) {
    if (i.state === "Z") continue;
    for (let p = parent.get(pid), hops = 0; p !== undefined && p > 1 && hops < 64; p = parent.get(p), hops++) {
      if (p === root) {
        out.set(pid, commandLine(pid) || i.comm);
        break;
      }
    }
  }
  return out;
}

function listing(dir: string): string[] {
  try {
    return readdirSync(dir).map((f) => `${dir}/${f}`);
  } catch {
    return [];
  }
}

/**
 * Directories Bun's `cc` makes beside its per-uid one (bun-cc-UID) when it cannot use that: one per
 * process, never removed, so each means some ctrnet process ran with a compiler directory it could not use.
 */
function strayCompilerDirs(): Set<string> {
  const dirs = new Set(["/tmp", process.env.BUN_TMPDIR, process.env.TMPDIR].filter((d): d is string => !!d));
  return new Set([...dirs].flatMap(listing).filter((f) => /\/\.[^/]*\.bun-cc$/.test(f)));
}

/**
 * Per-container lock files in ctrnet's runtime dir: the holder of a removed container unlinks its own; and
 * the DNS server's, which goes with the last container it served.
 */
function lockFiles(): Set<string> {
  const roots = new Set(["/run/ctrnet", process.env.CTRNET_ROOT].filter((d): d is string => !!d));
  return new Set([...roots].flatMap((r) => [...listing(`${r}/locks`), ...(existsSync(`${r}/dns.lock`) ? [`${r}/dns.lock`] : [])]));
}

/**
 * What a native attachment holds on disk: its record (ROOT/native) and its host-local leases (one file per
 * address in DATADIR/NETWORK), in ctrnet's default places and the ones the environment names.
 */
function attachmentFiles(): Set<string> {
  const roots = new Set(["/run/ctrnet", process.env.CTRNET_ROOT].filter((d): d is string => !!d));
  const records = [...roots].flatMap((r) => listing(`${r}/native`));
  const caches = new Set(["/var/lib/cni", process.env.CTRNET_CNI_CACHE_DIR].filter((d): d is string => !!d));
  const leases = [...caches]
    .flatMap((c) => listing(`${c}/networks`))
    .flatMap(listing)
    .filter((f) => !/\/(lock|last_reserved_ip\.\d+|\.ctrnet-highest\.\d+)$/.test(f));
  return new Set([...records, ...leases]);
}

function netnsFiles(): Set<string> {
  const dirs = ["/run/netns", process.env.CTRNET_NETNS_DIR].filter((d): d is string => !!d);
  const out = new Set<string>();
  for (const d of dirs) {
    try {
      for (const f of readdirSync(d)) out.add(`${d}/${f}`);
    } catch {
      // no such dir: nothing in it
    }
  }
  return out;
}

// Shared chains the CNI plugins create on first use and keep by design (as with podman); not per-container state.
const SHARED_CHAIN = "CNI-(?:FORWARD|ADMIN|HOSTPORT-(?:DNAT|SNAT|MASQ|SETMARK))";
const SHARED_RULES = [
  new RegExp(`^:${SHARED_CHAIN} `),
  new RegExp(`^-A (?:FORWARD|INPUT|OUTPUT|PREROUTING|POSTROUTING|${SHARED_CHAIN}) (?:(?!--comment ".*id:).)*-j ${SHARED_CHAIN}$`),
  /^-A CNI-HOSTPORT-(?:MASQ|SETMARK) (?:(?!id:).)*$/,
  /^-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN$/,
];

/** Firewall rules and chains, without counters, minus the shared scaffolding the CNI plugins keep. */
function firewall(): Set<string> {
  const out = new Set<string>();
  for (const cmd of [["iptables-save"], ["ip6tables-save"]]) {
    const r = Bun.spawnSync(cmd, { stderr: "ignore" });
    if (r.exitCode !== 0) continue;
    let table = "";
    for (const raw of r.stdout.toString().split("\n")) {
      const line = raw.replace(/ \[\d+:\d+\]$/, "");
      if (line.startsWith("*")) table = line.slice(1);
      if (!line.startsWith("-A") && !(line.startsWith(":") && !/^:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) /.test(line))) continue;
      if (SHARED_RULES.some((re) => re.test(line))) continue;
      out.add(`${cmd[0]} ${table} ${line}`);
    }
  }
  nftObjects(out);
  return out;
}

// iptables-nft's own tables hold the rules checked above.
const IPTABLES_NFT = /^(ip|ip6|inet|bridge|arp) (filter|nat|mangle|raw|security)$/;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** A rule by what it does, not by its handle: a table rebuilt by a test is not a leak. */
function describeExprs(exprs: Expr[]): string {
  return JSON.stringify(exprs, (key, v) => {
    if (v instanceof Uint8Array) return hex(v);
    if (typeof v === "bigint") return key === "bytes" || key === "packets" ? undefined : String(v);
    return v;
  });
}

function describeElement(e: SetElement): string {
  const data = e.data === undefined ? "" : e.data instanceof Uint8Array ? ` : ${hex(e.data)}` : ` : ${JSON.stringify(e.data)}`;
  return `${hex(e.key)}${e.keyEnd ? `-${hex(e.keyEnd)}` : ""}${e.intervalEnd ? " end" : ""}${data}`;
}

/** Every nf_tables table, chain, named set, element and rule outside iptables-nft's tables, over netlink. */
function nftObjects(out: Set<string>): void {
  using nft = Nftables.open();
  const ours = (family: string, table: string) => !IPTABLES_NFT.test(`${family} ${table}`);
  for (const t of nft.tables()) if (ours(t.family, t.name)) out.add(`nft table ${t.family} ${t.name}`);
  for (const c of nft.chains()) if (ours(c.family, c.table)) out.add(`nft chain ${c.family} ${c.table} ${c.name}`);
  for (const r of nft.rules()) {
    if (ours(r.family, r.table)) out.add(`nft rule ${r.family} ${r.table} ${r.chain} ${describeExprs(r.exprs)}`);
  }
  for (const s of nft.sets()) {
    // anonymous sets belong to the rule that holds them
    if (!ours(s.family, s.table) || s.flags.includes("anonymous")) continue;
    const name = `${s.family} ${s.table} ${s.name}`;
    out.add(`nft set ${name}`);
    try {
      for (const e of nft.elements(s)) out.add(`nft element ${name} ${describeElement(e)}`);
    } catch (err) {
      // deleted since the listing
      if (!isNetlinkError(err, "ENOENT")) throw err;
    }
  }
}

const privileged = process.getuid?.() === 0 && process.env.CTRNET_TEST_PRIVATE === "1";

export function snapshot(): Snapshot {
  return {
    nsfsMounts: nsfsMounts(),
    interfaces: interfaces(),
    processes: descendants(process.pid),
    netnsFiles: netnsFiles(),
    tmpDirs: strayCompilerDirs(),
    lockFiles: lockFiles(),
    attachmentFiles: attachmentFiles(),
    firewall: privileged ? firewall() : new Set(),
  };
}

function added<T>(before: Set<T> | Map<T, unknown>, after: Set<T> | Map<T, unknown>): T[] {
  return [...after.keys()].filter((k) => !before.has(k));
}

/** Lines describing what exists in `after` but not in `before`; empty when nothing leaked. */
export function leaksBetween(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  const mounts = added(before.nsfsMounts, after.nsfsMounts);
  if (mounts.length) out.push(`nsfs mounts: ${mounts.join(", ")}`);
  const ifs = added(before.interfaces, after.interfaces);
  if (ifs.length) out.push(`interfaces: ${ifs.join(", ")}`);
  const procs = added(before.processes, after.processes);
  if (procs.length) out.push(`processes: ${procs.map((p) => `${p} (${after.processes.get(p)})`).join(", ")}`);
  const files = added(before.netnsFiles, after.netnsFiles);
  if (files.length) out.push(`netns files: ${files.join(", ")}`);
  const tmp = added(before.tmpDirs, after.tmpDirs);
  if (tmp.length) out.push(`Bun compiler directories: ${tmp.join(", ")}`);
  const locks = added(before.lockFiles, after.lockFiles);
  if (locks.length) out.push(`lock files: ${locks.join(", ")}`);
  const attachments = added(before.attachmentFiles, after.attachmentFiles);
  if (attachments.length) out.push(`attachment records or leases: ${attachments.join(", ")}`);
  const rules = added(before.firewall, after.firewall);
  if (rules.length) out.push(`firewall: ${rules.join(" | ")}`);
  return out;
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Processes and mounts can take a moment to go after a kill; poll briefly before calling it a leak. */
export async function settledLeaks(
  before: Snapshot,
  { deadlineMs = 3000, allowPause = false }: { deadlineMs?: number; allowPause?: boolean } = {},
): Promise<{ leaks: string[]; now: Snapshot }> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const now = snapshot();
    // The rootless pause process outlives the command that started it by design; a test file stops it
    // in afterAll, and the whole-run check (allowPause false) catches one that stays.
    if (allowPause) for (const [pid, argv] of now.processes) if (argv.endsWith(" _pause")) now.processes.delete(pid);
    // A supervisor starts its watchdog after its first round, which may come after the snapshot taken
    // once the command that started it returned: the watchdog of a supervisor that was there is its own.
    for (const [pid, argv] of now.processes) {
      if (!before.processes.has(pid) && argv.includes(" ctrnet-supervisor-watchdog ") && before.processes.has(parentOf(pid) ?? -1)) now.processes.delete(pid);
    }
    const leaks = leaksBetween(before, now);
    if (leaks.length === 0 || Date.now() >= end) return { leaks, now };
    await Bun.sleep(50);
  }
}
