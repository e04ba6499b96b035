// The note at the top of RESULTS.md: the headline ratios, and wherever ctrnet is behind a peer, by how much and
// what it would take to get ahead, reasoned from the breakdowns measured in the same run.
import type { AttachResult } from "./attach.ts";
import type { DnatResult } from "./dnat.ts";
import type { DnsResult } from "./dns.ts";
import type { PortfwdPath, PortfwdResult } from "./portfwd.ts";
import type { ExecTrace } from "./execs.ts";
import { growth, type ScaleResult } from "./scale.ts";
import { fixed, max, median, mib, ms, ratio } from "./stats.ts";
import type { StartupResult } from "./startup.ts";

export interface Measured {
  attach?: AttachResult;
  portfwd?: PortfwdResult;
  scale?: ScaleResult;
  scaleNative?: ScaleResult;
  execs?: ExecTrace;
  startup?: StartupResult;
  dns?: DnsResult;
  dnat?: DnatResult;
}

const pct = (x: number) => `${fixed(x * 100, 0)}%`;

/** Differences smaller than this fraction are within this machine's run-to-run noise: not called a gap. */
const NOISE = 0.05;
const slower = (ours: number, theirs: number) => ours > theirs * (1 + NOISE);
const less = (ours: number, theirs: number) => ours < theirs * (1 - NOISE);

function attachNotes(a: AttachResult, s: StartupResult | undefined, head: string[], gaps: string[]): void {
  const [own, pre, hook, nv, chain, nativeNet, native, kept] = a.paths.map((p) => ({ a: median(p.attachMs), d: median(p.detachMs) })) as [
    { a: number; d: number }, { a: number; d: number }, { a: number; d: number }, { a: number; d: number }, { a: number; d: number },
    { a: number; d: number } | undefined, { a: number; d: number } | undefined, { a: number; d: number } | undefined,
  ];
  head.push(
    `- **attach**: ctrnet / netavark **${ratio(own.a, nv.a)}**, ctrnet / CNI chain **${ratio(own.a, chain.a)}** ` +
      `(${ms(own.a)} vs ${ms(nv.a)} and ${ms(chain.a)} ms); into a premade netns, as the peers get it: ${ratio(pre.a, nv.a)} and ${ratio(pre.a, chain.a)}`,
    `- **detach**: ctrnet / netavark **${ratio(own.d, nv.d)}**, ctrnet / CNI chain **${ratio(own.d, chain.d)}** (${ms(own.d)} vs ${ms(nv.d)} and ${ms(chain.d)} ms)`,
    `- **OCI hook**: \`hook createRuntime\` / \`create --netns\` **${ratio(hook.a, pre.a)}** (${ms(hook.a)} vs ${ms(pre.a)} ms), ` +
      `\`hook poststop\` / \`rm\` ${ratio(hook.d, pre.d)}; / netavark ${ratio(hook.a, nv.a)} and ${ratio(hook.d, nv.d)}`,
  );
  if (nativeNet) {
    head.push(
      `- **ctrnet on a native network** (\`create\`/\`rm\`, ctrnet's plugin type run in-process): / netavark **${ratio(nativeNet.a, nv.a)}** attach, ` +
        `**${ratio(nativeNet.d, nv.d)}** detach (${ms(nativeNet.a)} and ${ms(nativeNet.d)} ms); / CNI chain ${ratio(nativeNet.a, chain.a)} and ${ratio(nativeNet.d, chain.d)}` +
        (kept
          ? `; with another container running (its create no longer starts the helper supervisor that holds host ports, its rm no longer stops it): ` +
            `/ netavark ${ratio(kept.a, nv.a)} attach, ${ratio(kept.d, nv.d)} detach (${ms(kept.a)} and ${ms(kept.d)} ms)`
          : ""),
    );
  }
  if (native) {
    head.push(
      `- **ctrnet as a CNI plugin** (ADD + DEL of \`type: ctrnet\`, exec'd as a runtime does): / CNI chain **${ratio(native.a, chain.a)}** attach, ` +
        `**${ratio(native.d, chain.d)}** detach (${ms(native.a)} and ${ms(native.d)} ms); / netavark ${ratio(native.a, nv.a)} and ${ratio(native.d, nv.d)}`,
    );
  }
  const plugin = (key: "addMs" | "delMs") =>
    [...a.chainPlugins].sort((x, y) => median(y[key]) - median(x[key])).map((p) => `${p.type} ${ms(median(p[key]))}`).join(", ");
  const startupMs = s ? median(s.ctrnet.wallMs) : NaN;
  const floorMs = s ? median(s.bunFloor.wallMs) : NaN;
  const remedy =
    "What it would take: a native bridge driver, as netavark is — veth, bridge, addresses and routes over ctrnet's own rtnetlink " +
    "client, IPAM inside its state database, the port-forwarding and masquerade rules as one nftables batch instead of the " +
    "iptables executions inside portmap, firewall and the bridge plugin — keeping the CNI chain for networks that name other " +
    "plugins; and ctrnet's own share (state, locks, config loading, start-up) cut toward the Bun floor.";
  if (slower(pre.a, nv.a)) {
    gaps.push(
      `**Attach, behind netavark by ${pct(pre.a / nv.a - 1)}** (+${ms(pre.a - nv.a)} ms into a premade netns; ${ms(own.a)} ms making its own). ` +
        `The plugins alone take ${ms(chain.a)} ms${chain.a > nv.a ? ", already more than netavark's whole setup" : ""} ` +
        `(median per plugin: ${plugin("addMs")}); ctrnet's own share is ${ms(pre.a - chain.a)} ms` +
        (s ? `, of which ${ms(startupMs)} ms is its start-up (section 4; the Bun floor is ${ms(floorMs)} ms)` : "") +
        `. ${remedy}`,
    );
  }
  if (slower(pre.d, nv.d)) {
    gaps.push(
      `**Detach, behind netavark by ${pct(pre.d / nv.d - 1)}** (+${ms(pre.d - nv.d)} ms). The plugins' DEL alone takes ${ms(chain.d)} ms ` +
        `(median per plugin: ${plugin("delMs")}), so ctrnet's own share is ${ms(pre.d - chain.d)} ms. The same native driver removes both.`,
    );
  }
}

function portfwdNotes(r: PortfwdResult, head: string[], gaps: string[]): void {
  const [ctr, ...peers] = r.paths as [PortfwdPath, ...PortfwdPath[]];
  const limit = peers.at(-1)!;
  const vs = (pick: (p: PortfwdPath) => number) => peers.map((p) => `${p.name} ${ratio(pick(ctr), pick(p))}`).join(", ");
  head.push(
    `- **port forwarding host → netns**: ctrnet ${fixed(median(ctr.fwd), 2)} Gbit/s; ctrnet / ${vs((p) => median(p.fwd))}`,
    `- **port forwarding netns → host**: ctrnet ${fixed(median(ctr.rev), 2)} Gbit/s; ctrnet / ${vs((p) => median(p.rev))}`,
    `- **connections/s**: ctrnet ${ctr.connRate}; ctrnet / ${vs((p) => p.connRate)}`,
    `- **forwarder CPU s per run** (→): ctrnet ${fixed(median(ctr.cpuFwd), 2)}; ` +
      peers.filter((p) => p.cpuPids.length).map((p) => `${p.name} ${fixed(median(p.cpuFwd), 2)}`).join(", "),
  );
  const behind: string[] = [];
  for (const p of peers.filter((p) => p !== limit)) {
    for (const [what, ours, theirs, unit] of [
      ["host → netns", median(ctr.fwd), median(p.fwd), "Gbit/s"],
      ["netns → host", median(ctr.rev), median(p.rev), "Gbit/s"],
      ["connection rate", ctr.connRate, p.connRate, "/s"],
    ] as const) {
      if (less(ours, theirs)) behind.push(`${what} vs ${p.name} by ${pct(1 - ours / theirs)} (${fixed(ours, unit === "/s" ? 0 : 2)} vs ${fixed(theirs, unit === "/s" ? 0 : 2)} ${unit})`);
    }
  }
  if (behind.length) {
    gaps.push(
      `**Port forwarding, behind in ${behind.join("; ")}.** ctrnet's relay (ffi/relay.c) serves every connection from ` +
        "epoll loops, one per core, over non-blocking splice: the loop that accepts a connection keeps it, a pipe from its " +
        "pool is held only while bytes are in it (grown to 1 MiB once a read fills it), and the socket into the netns " +
        "connects without blocking (bound to the client's address, transparent and marked, when the address is kept). pasta " +
        "does the same from one loop (passt's tcp_splice.c). Keeping the client's address costs a bind per connection; for TCP " +
        "to a server in the forwarder's netns nothing per packet (the sockets' marks route the replies), for UDP and a rootless " +
        "bridge's servers conntrack and connmark in the netns. A bulk stream is one loop's work, so on a loaded " +
        "2-core machine it gets one thread's share of the CPU. Splitting a stream over two loops (a pipeline, or moving it " +
        "between loops) was tried and measured no faster: the socket write, which carries the receiver's TCP work on " +
        "loopback, stays on one thread.",
    );
  }
}

function dnsNotes(r: DnsResult, head: string[], gaps: string[]): void {
  const [own, peer] = r.servers;
  const [oq, pq, op, pp] = [median(own.qps), median(peer.qps), median(own.p99Ms), median(peer.p99Ms)];
  head.push(
    `- **DNS**: ctrnet _dns / aardvark-dns **${ratio(oq, pq)}** queries/s (${fixed(oq, 0)} vs ${fixed(pq, 0)}), p99 at ${r.rate} queries/s ` +
      `**${ratio(op, pp)}** (${fixed(op, 2)} vs ${fixed(pp, 2)} ms), peak RSS ${mib(own.peakRssBytes)} vs ${mib(peer.peakRssBytes)} MiB`,
  );
  const a = r.attach;
  const [first, next, lastRm] = [
    median(a.firstWith) - median(a.firstWithout),
    median(a.nextWith) - median(a.nextWithout),
    median(a.lastRmWith) - median(a.lastRmWithout),
  ];
  head.push(
    `- **DNS in the attach**: create of the first container on a DNS network +${fixed(first, 1)} ms (${ratio(median(a.firstWith), median(a.firstWithout))}; it starts the server), ` +
      `of the next ones ${fixed(next, 1)} ms (${ratio(median(a.nextWith), median(a.nextWithout))}); rm of the last +${fixed(lastRm, 1)} ms (it stops the server)`,
  );
  if (first > 5) {
    gaps.push(
      `**The first container on a DNS network: +${fixed(first, 1)} ms** (the next ones: ${fixed(next, 1)}). It starts \`ctrnet _dns\`, whose ` +
        "start-up is ctrnet's own (section 4): launched before the container's networks are set up, it overlaps them, but on a busy " +
        "2-core machine the two compete for the CPU. What it would take: a server whose start-up is not a Bun runtime's (the C loop " +
        "of the gap above), or one server started ahead of any container (as a systemd unit would).",
    );
  }
  if (less(oq, pq) || slower(op, pp)) {
    gaps.push(
      `**DNS, behind aardvark-dns** (${ratio(oq, pq)} queries/s, ${ratio(op, pp)} p99). A CPU profile under load puts about three ` +
        "quarters of the server's time in Bun's UDP send, the resolver itself about 3 µs a query; answers batched into one " +
        "sendMany per event-loop turn gained nothing measurable. What it would take: the receive-answer loop in C behind ffi/ " +
        "(recvmmsg/sendmmsg), keeping the TypeScript resolver for everything but container A/AAAA answers.",
    );
  }
  if (own.peakRssBytes > peer.peakRssBytes * (1 + NOISE)) {
    gaps.push(
      `**DNS server memory: ${mib(own.peakRssBytes)} MiB peak against aardvark-dns's ${mib(peer.peakRssBytes)}** (${mib(own.idleRssBytes)} idle). ` +
        "Most of it is the Bun runtime and the mapped binary, the floor of any ctrnet process (section 4); the rest is garbage " +
        "between collections under load. What it would take: a smaller heap (`--smol`), fewer objects per query, or the same C loop.",
    );
  }
}

export function summary(m: Measured): string {
  const head: string[] = [];
  const gaps: string[] = [];
  if (m.attach) attachNotes(m.attach, m.startup, head, gaps);
  if (m.portfwd) portfwdNotes(m.portfwd, head, gaps);
  if (m.scale) {
    const s = m.scale;
    head.push(
      `- **scale**: attach of the ${s.count}th container / the 1st ${ratio(s.attachMs[s.count - 1]!, s.attachMs[0]!)}, ` +
        `peak memory of a create ${mib(max(s.rssBytes))} MiB; left behind after removing all: ${s.leftovers.length ? s.leftovers.join(", ") : "nothing"}`,
    );
  }
  if (m.scaleNative) {
    const s = m.scaleNative;
    head.push(
      `- **scale, native network**: attach of the ${s.count}th container / the 1st ${ratio(s.attachMs[s.count - 1]!, s.attachMs[0]!)} ` +
        `(median of the last 100 / the first 100: ${ratio(median(s.attachMs.slice(-100)), median(s.attachMs.slice(0, 100)))}), ` +
        `peak memory of a create ${mib(max(s.rssBytes))} MiB; left behind after removing all: ${s.leftovers.length ? s.leftovers.join(", ") : "nothing"}` +
        (s.range ? `; \`-p 1-1000:1-1000\` create ${ms(median(s.range.attachMs))} ms, rm ${ms(median(s.range.detachMs))} ms` : "") +
        (s.netavark ? `; growth at ${s.netavark.count} containers, ctrnet ${ratio(growth(s.attachMs, s.netavark.count, Math.min(100, Math.floor(s.netavark.count / 3))), 1)} beside netavark's ${ratio(growth(s.netavark.attachMs, s.netavark.count, Math.min(100, Math.floor(s.netavark.count / 3))), 1)}` : ""),
    );
  }
  if (m.dnat) {
    const [own, nv, limit] = m.dnat.paths.map((p) => ({ f: median(p.fwd), r: median(p.rev) })) as [{ f: number; r: number }, { f: number; r: number }, { f: number; r: number }];
    head.push(
      `- **rootful port forwarding (DNAT) from another netns**: ctrnet ${fixed(own.f, 2)} Gbit/s; ctrnet / netavark **${ratio(own.f, nv.f)}** (← ${ratio(own.r, nv.r)}), ` +
        `ctrnet / routed without DNAT (the limit) ${ratio(own.f, limit.f)} (← ${ratio(own.r, limit.r)})`,
    );
  }
  if (m.execs) {
    const counts = m.execs.runs.map((r) => r.execs.length);
    head.push(`- **programs started** by a native create / rm (strace -f): ${counts.join(" / ")} execve, ctrnet's own`);
  }
  if (m.startup) {
    const { ctrnet: c, netavark: n, bunFloor: f } = m.startup;
    const [cw, nw, fw] = [median(c.wallMs), median(n.wallMs), median(f.wallMs)];
    head.push(
      `- **start-up**: ctrnet / netavark ${ratio(cw, nw)} wall time (${ms(cw)} vs ${ms(nw)} ms), ${ratio(median(c.rssBytes), median(n.rssBytes))} ` +
        `peak memory, ${ratio(c.binaryBytes, n.binaryBytes)} binary size; ctrnet / Bun hello world ${ratio(cw, fw)}`,
    );
    if (slower(cw, nw)) {
      gaps.push(
        `**Start-up, behind netavark by ${ratio(cw, nw)}** (+${ms(cw - nw)} ms, ${mib(median(c.rssBytes))} vs ${mib(median(n.rssBytes))} MiB). ` +
          `A compiled Bun hello world alone takes ${ms(fw)} ms and ${mib(median(f.rssBytes))} MiB, so a Bun binary cannot get ahead of a ` +
          `Rust one here, nor on size (the runtime is in the ${mib(c.binaryBytes)} MiB). What ctrnet can take away is its own ` +
          `${ms(cw - fw)} ms above that floor (it already ships as bytecode, in chunks a command loads only when it uses them, and makes ` +
          `its file calls over libc rather than load node:fs): bun:ffi and the libc table, and evaluating the command's own modules; at the floor, every command and hook ` +
          `call would start in about ${ratio(fw, nw)} netavark's time.`,
      );
    }
  }
  if (m.dns) dnsNotes(m.dns, head, gaps);
  return [
    "## Headline",
    "",
    "Ratios are ctrnet / peer of medians: for times above 1 means ctrnet is slower, for throughput and rates above 1 means ctrnet is faster.",
    "",
    ...head,
    "",
    "### Where ctrnet is behind, by how much, and what it would take",
    "",
    `Differences under ${pct(NOISE)} are not listed: they are within this machine's run-to-run noise.`,
    "",
    ...(gaps.length ? gaps.map((g) => `- ${g}`) : ["Nowhere in this run."]),
  ].join("\n");
}
