// `npm run bench`: ctrnet against its peers, in one run on one machine, written to bench/RESULTS.md.
//   1. attach + detach latency (attach.ts)   2. rootless port forwarding (portfwd.ts)
//   3. 200 containers on a reference-chain network and 1000 on a native one (scale.ts)   4. start-up (startup.ts)   5. container name resolution (dns.ts)
//   6. rootful port forwarding through DNAT, from a client in another netns (dnat.ts)
//   Quicker looks at 3: scale-native.ts runs its native half alone; scale-steps.ts times each step of a native attach at 1 and N.
// Options: --quick (a short run, under 2 minutes), --only SECTION[,SECTION…] (attach, portfwd, scale, startup, dns, dnat).
// Both print the report instead of writing bench/RESULTS.md, so the committed figures always come from a full run.
// Needs root and the peers (scripts/setup installs them). Everything runs in the sandbox of sandbox.ts.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ensureBinary, ROOT } from "../test/helpers/binary.ts";
import { attachDetach, attachMarkdown } from "./attach.ts";
import { execsMarkdown, traceExecs } from "./execs.ts";
import { snapshotBinary } from "./ctrnet.ts";
import { dnatForwarding, dnatMarkdown } from "./dnat.ts";
import { AARDVARK, dnsMarkdown, dnsResolution } from "./dns.ts";
import { loadAverage, machine, PEER_PACKAGES } from "./machine.ts";
import { NETAVARK } from "./netavark.ts";
import { portForwarding, portfwdMarkdown } from "./portfwd.ts";
import { runInSandbox, WORK } from "./sandbox.ts";
import { scale, scaleMarkdown } from "./scale.ts";
import { startup, startupMarkdown } from "./startup.ts";
import { summary, type Measured } from "./summary.ts";

const SECTIONS = ["attach", "portfwd", "scale", "startup", "dns", "dnat"] as const;
type Section = (typeof SECTIONS)[number];

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "in-sandbox": { type: "boolean", default: false },
  },
});

const only = (opts.only?.split(",") ?? [...SECTIONS]) as Section[];
const FULL = !opts.quick && !opts.only;
const PARAMS = opts.quick
  ? { iterations: 10, warmup: 1, seconds: 3, runs: 1, connections: 500, containers: 50, nativeContainers: 100, netavarkContainers: 60, startupRuns: 20 }
  : { iterations: 50, warmup: 3, seconds: 10, runs: 3, connections: 3000, containers: 200, nativeContainers: 1000, netavarkContainers: 300, startupRuns: 50 };
const RESULTS = `${ROOT}/bench/RESULTS.md`;

function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push("root (the bench makes namespaces, bridges and firewall rules)");
  const tools = ["unshare", "nsenter", "ip", "iptables-save", "nft", "strace", "iperf3", "rootlesskit", "slirp4netns", "pasta", "hyperfine", "dnsperf", "dig"];
  for (const tool of tools) if (!Bun.which(tool)) missing.push(tool);
  if (!existsSync(NETAVARK)) missing.push("netavark");
  if (!existsSync(AARDVARK)) missing.push("aardvark-dns");
  if (!existsSync("/usr/bin/time")) missing.push("/usr/bin/time");
  if (!existsSync("/usr/lib/cni/bridge") && !existsSync("/opt/cni/bin/bridge")) missing.push("the CNI plugins");
  return missing;
}

async function measure(section: Section, tag: string, m: Measured): Promise<void> {
  const workDir = `${WORK}/${section}`;
  mkdirSync(workDir, { recursive: true });
  switch (section) {
    case "attach":
      m.attach = attachDetach({ workDir, tag, iterations: PARAMS.iterations, warmup: PARAMS.warmup });
      m.execs = traceExecs({ workDir, tag });
      return;
    case "portfwd":
      m.portfwd = await portForwarding({ workDir, seconds: PARAMS.seconds, runs: PARAMS.runs, connections: PARAMS.connections });
      return;
    case "scale":
      m.scale = scale({ workDir, tag, count: PARAMS.containers });
      m.scaleNative = scale({ workDir, tag, count: PARAMS.nativeContainers, native: true, netavarkCount: PARAMS.netavarkContainers });
      return;
    case "startup":
      m.startup = startup({ workDir, runs: PARAMS.startupRuns });
      return;
    case "dns":
      m.dns = await dnsResolution({ workDir, seconds: PARAMS.seconds, runs: PARAMS.runs });
      return;
    case "dnat":
      m.dnat = await dnatForwarding({ workDir, tag, seconds: PARAMS.seconds, runs: PARAMS.runs });
      return;
  }
}

const TITLES: Record<Section, string> = {
  attach: "1. Attach + detach latency (bridge network, one published port, static IP)",
  portfwd: "2. Rootless port forwarding: host 127.0.0.1 → server in the netns",
  scale: `3. Scale: ${PARAMS.containers} containers on one network, ${PARAMS.nativeContainers} on one native network (${PARAMS.netavarkContainers} on one netavark network beside it)`,
  startup: "4. Start-up",
  dns: "5. Container name resolution: ctrnet _dns and aardvark-dns",
  dnat: "6. Rootful port forwarding: a client in another netns → the host's published port → container",
};

function sectionMarkdown(section: Section, m: Measured): string | undefined {
  if (section === "attach" && m.attach) return [attachMarkdown(m.attach), ...(m.execs ? ["", execsMarkdown(m.execs)] : [])].join("\n");
  if (section === "portfwd" && m.portfwd) return portfwdMarkdown(m.portfwd);
  if (section === "scale" && m.scale) return [scaleMarkdown(m.scale), ...(m.scaleNative ? ["", scaleMarkdown(m.scaleNative)] : [])].join("\n");
  if (section === "startup" && m.startup) return startupMarkdown(m.startup);
  if (section === "dns" && m.dns) return dnsMarkdown(m.dns);
  if (section === "dnat" && m.dnat) return dnatMarkdown(m.dnat);
  return undefined;
}

async function inSandbox(): Promise<number> {
  const started = new Date();
  const loadStart = loadAverage();
  snapshotBinary();
  const host = machine();
  const tag = crypto.randomUUID().slice(0, 6);
  const m: Measured = {};
  const failures = new Map<Section, string>();
  const seconds = new Map<Section, number>();
  // Start-up first and port forwarding last: the quick, stateless figures before the machine has been worked.
  for (const section of (["startup", "attach", "scale", "dns", "portfwd", "dnat"] as const).filter((s) => only.includes(s))) {
    const t0 = performance.now();
    console.error(`bench: ${TITLES[section]}`);
    try {
      await measure(section, tag, m);
    } catch (err) {
      failures.set(section, (err as Error).message);
      console.error(`bench: ${section} failed: ${(err as Error).message}`);
    }
    seconds.set(section, (performance.now() - t0) / 1000);
  }
  const loadEnd = loadAverage();
  const minutes = (Date.now() - started.getTime()) / 60_000;

  const report = [
    "# ctrnet benchmarks",
    "",
    `Generated by \`npm run bench${opts.quick ? " -- --quick" : ""}${opts.only ? ` -- --only ${opts.only}` : ""}\` (bench/run.ts) on ${started.toISOString()}, ` +
      `in ${minutes.toFixed(1)} min${opts.quick ? " — a QUICK run: fewer iterations, shorter transfers" : ""}. ` +
      "Every figure below was measured in this run, on this machine; all peers ran interleaved with ctrnet. " +
      "Everything ran as root inside private network, mount and pid namespaces made for the run (traffic only on loopback and veths inside them).",
    "",
    "## Machine",
    "",
    `- kernel ${host.kernel}; ${host.cpu}, ${host.cores} cores; ${host.memory} memory`,
    `- load average (1, 5, 15 min) at start: ${loadStart}; at end: ${loadEnd} (other work on the machine adds noise, hence medians and p95)`,
    `- section run times: ${[...seconds].map(([s, t]) => `${s} ${t.toFixed(0)} s`).join(", ")}`,
    "",
    "| component | version |",
    "|---|---|",
    ...host.versions.map(([name, v]) => `| ${name} | ${v} |`),
    "",
    summary(m),
    ...SECTIONS.filter((s) => only.includes(s)).flatMap((s) => [
      "",
      `## ${TITLES[s]}`,
      "",
      sectionMarkdown(s, m) ?? `Not measured: ${failures.get(s) ?? "unknown failure"}`,
    ]),
    "",
  ].join("\n");

  if (FULL) {
    writeFileSync(RESULTS, report);
    console.error(`bench: wrote ${RESULTS} (${minutes.toFixed(1)} min)`);
  } else {
    process.stdout.write(report);
  }
  return failures.size ? 1 : 0;
}

if (opts["in-sandbox"]) {
  process.exitCode = await inSandbox();
} else {
  const unknown = only.filter((s) => !SECTIONS.includes(s));
  const missing = missingPrerequisites();
  if (unknown.length) {
    console.error(`bench: unknown section ${unknown.join(", ")}; sections are ${SECTIONS.join(", ")}`);
    process.exitCode = 2;
  } else if (missing.length) {
    console.error(`bench: missing ${missing.join(", ")}; as root, scripts/setup installs the peers (apt-get install ${PEER_PACKAGES.join(" ")})`);
    process.exitCode = 2;
  } else {
    ensureBinary();
    process.exitCode = await runInSandbox(import.meta.path, process.argv.slice(2));
  }
}
