// Section 1: attach and detach latency on a bridge network, one published port (127.0.0.1:HOSTPORT -> 80) and a
// static IP, for
//   ctrnet         `ctrnet create` / `ctrnet rm` on a network `network create` made (ctrnet's own plugin, the default):
//                  makes and removes the netns itself, keeps its state
//   ctrnet --netns the same into a netns made beforehand, which is what the two peers below are given
//   ctrnet hook    `ctrnet hook createRuntime` / `poststop` for an OCI container whose config.json joins a
//                  netns made beforehand, settings in its annotations: the OCI hook's overhead over --netns
//   netavark       `netavark setup` / `teardown` with podman's network options for such a container
//   CNI chain      the plugins ctrnet's network runs (bridge + host-local, portmap, firewall, tuning), executed
//                  by cni-chain.ts: the plugins' own cost, a floor for any CNI runtime
//   ctrnet native  `ctrnet create` / `rm` on a network of ctrnet's own plugin type, which its CNI runtime runs
//                  in-process: no other program started
//   ctrnet plugin  ctrnet's own CNI plugin (`type: ctrnet`: bridge, addresses, nftables ports in one process),
//                  executed by cni-chain.ts the same way: what a runtime such as podman or containerd pays
//   ctrnet native, another container running
//                  the native path's create / rm while another container with a published port runs, so the
//                  helper supervisor that holds host ports is up (as on any host with containers): the native
//                  path above has none running, and its create starts one, its rm stops it. The other
//                  container is made and removed untimed around each pair, so the paths before it still
//                  find no supervisor.
// Each path has its own network (bridge, subnet, host port). Iterations interleave the paths, so a busy moment
// of the machine lands on all of them alike.
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { chainAdd, chainDel, type ChainAttachment, type Conflist } from "./cni-chain.ts";
import { CTRNET, ctrnetHome } from "./ctrnet.ts";
import { NETAVARK, netavarkOptions } from "./netavark.ts";
import { commandLine, run, timed } from "./processes.ts";
import { median, ms, p95, ratio } from "./stats.ts";

export interface AttachOptions {
  workDir: string;
  tag: string;
  iterations: number;
  warmup: number;
}

interface Path {
  name: string;
  attachCommand: string;
  detachCommand: string;
  attach(): number;
  detach(): number;
}

export interface AttachPathResult {
  name: string;
  attachCommand: string;
  detachCommand: string;
  attachMs: number[];
  detachMs: number[];
}

export interface AttachResult {
  iterations: number;
  paths: AttachPathResult[];
  /** Each plugin of the chain by itself (bridge includes the host-local IPAM it runs). */
  chainPlugins: Array<{ type: string; addMs: number[]; delMs: number[] }>;
}

const CONTAINER_PORT = 80;

export function attachDetach(o: AttachOptions): AttachResult {
  const home = ctrnetHome(`${o.workDir}/ctrnet`);
  const network = `bench-${o.tag}`;
  home.run(["network", "create", "--subnet", "10.90.1.0/24", network]);
  const premadeNames: string[] = [];
  const premade = (name: string) => {
    premadeNames.push(`${name}-${o.tag}`);
    run(["ip", "netns", "add", `${name}-${o.tag}`]);
    return `/run/netns/${name}-${o.tag}`;
  };

  // the same network's options served by ctrnet's own plugin type, which ctrnet's CNI runtime runs in-process
  const nativeNetwork = `native-net-${o.tag}`;
  writeFileSync(
    `${home.env.CTRNET_CNI_CONFIG_DIR}/${nativeNetwork}.conflist`,
    home.run(["cni", "conflist", nativeNetwork, "--subnet", "10.90.5.0/24", "--ipam-data-dir", `${o.workDir}/native-net-ipam`]).stdout,
  );
  // another container with a published port, made before each timed pair and removed after it, untimed
  const other = ["create", "--network", nativeNetwork, "-p", `127.0.0.1:18089:${CONTAINER_PORT}`, "--ip", "10.90.5.8", `other-${o.tag}`];
  const supervisorsDir = `${home.env.CTRNET_ROOT}/supervisors`;
  // settled: its start-up (a Bun runtime) done, which would otherwise compete with the timed create
  const supervisorUp = () =>
    existsSync(supervisorsDir) &&
    readdirSync(supervisorsDir).some((f) => f.endsWith(".json") && (JSON.parse(readFileSync(`${supervisorsDir}/${f}`, "utf8")) as { watchdog?: unknown }).watchdog !== undefined);
  const keptPath = (p: Path): Path => ({
    ...p,
    attachCommand: `${p.attachCommand}, with \`ctrnet ${commandLine(other)}\` made before (untimed, its supervisor settled), then the CNI chain's ADD and DEL run untimed, as before the native path`,
    detachCommand: `${p.detachCommand}; then \`ctrnet rm other-${o.tag}\` (untimed)`,
    attach: () => {
      home.run(other);
      for (const end = Date.now() + 5000; !supervisorUp() && Date.now() < end; ) Bun.sleepSync(5);
      // What runs just before a timed command warms or cools the caches its code and data need: right after
      // an identical create this one started about 1.6 ms ahead of the native path's, which follows the CNI
      // chain's DEL. The same untimed chain ADD + DEL here, so the two differ by the running supervisor alone.
      const add = chainAdd(list, att);
      chainDel(list, att, add.result);
      return p.attach();
    },
    detach: () => {
      const ms = p.detach();
      home.run(["rm", `other-${o.tag}`]);
      return ms;
    },
  });
  const ctrnetPath = (name: string, id: string, hostPort: number, ip: string, netns?: string, net = network): Path => {
    const create = ["create", "--network", net, "-p", `127.0.0.1:${hostPort}:${CONTAINER_PORT}`, "--ip", ip, ...(netns ? ["--netns", netns] : []), id];
    return {
      name,
      attachCommand: `\`ctrnet ${commandLine(create)}\``,
      detachCommand: `\`ctrnet rm ${id}\``,
      attach: () => home.run(create).ms,
      detach: () => home.run(["rm", id]).ms,
    };
  };

  // The hook's container: a bundle whose config.json joins a premade netns; what it gets is in its annotations.
  const hookId = `hook-${o.tag}`;
  const bundle = `${o.workDir}/bundle`;
  mkdirSync(bundle, { recursive: true });
  writeFileSync(`${bundle}/config.json`, JSON.stringify({ ociVersion: "1.0.2", linux: { namespaces: [{ type: "network", path: premade("hook") }] } }));
  const hookState = (status: string) =>
    JSON.stringify({
      ociVersion: "1.0.2",
      id: hookId,
      status,
      pid: status === "stopped" ? 0 : process.pid,
      bundle,
      annotations: { "io.ctrnet.network": network, "io.ctrnet.publish": `127.0.0.1:18085:${CONTAINER_PORT}`, "io.ctrnet.ip": "10.90.1.7" },
    });
  const hookPath: Path = {
    name: "ctrnet hook (premade netns)",
    attachCommand: "`ctrnet hook createRuntime` with the OCI state on stdin (annotations io.ctrnet.network, io.ctrnet.publish, io.ctrnet.ip)",
    detachCommand: "`ctrnet hook poststop`",
    attach: () => home.run(["hook", "createRuntime"], { stdin: Buffer.from(hookState("created")) }).ms,
    detach: () => home.run(["hook", "poststop"], { stdin: Buffer.from(hookState("stopped")) }).ms,
  };

  const nvNetns = premade("netavark");
  const nvOptions = `${o.workDir}/netavark-options.json`;
  writeFileSync(
    nvOptions,
    JSON.stringify(
      netavarkOptions({ containerId: `netavark-${o.tag}`, network: `nv-${o.tag}`, bridge: `nv${o.tag}`, subnet: "10.90.2.0/24", ip: "10.90.2.5", hostPort: 18083, containerPort: CONTAINER_PORT }),
    ),
  );
  const netavark = (command: "setup" | "teardown") => [NETAVARK, "--config", `${o.workDir}/netavark`, "-f", nvOptions, command, nvNetns];

  // The reference chain as `network create -o plugin=cni` writes it, moved to a bridge and subnet of its own.
  const chainSource = `chain-src-${o.tag}`;
  home.run(["network", "create", "-o", "plugin=cni", "--subnet", "10.90.9.0/24", chainSource]);
  const ctrnetList = JSON.parse(readFileSync(`${home.env.CTRNET_CNI_CONFIG_DIR}/${chainSource}.conflist`, "utf8")) as Conflist;
  const list: Conflist = {
    ...ctrnetList,
    name: `chain-${o.tag}`,
    plugins: ctrnetList.plugins.map((p) =>
      p.type !== "bridge"
        ? p
        : {
            ...p,
            bridge: `cni${o.tag}`,
            ipam: { ...(p.ipam as object), ranges: [[{ subnet: "10.90.3.0/24", gateway: "10.90.3.1" }]], dataDir: `${o.workDir}/chain-ipam` },
          },
    ),
  };
  const att: ChainAttachment = {
    containerId: `chain-${o.tag}`,
    netnsPath: premade("chain"),
    ifName: "eth0",
    capabilityArgs: { ips: ["10.90.3.5"], portMappings: [{ hostIP: "127.0.0.1", hostPort: 18084, containerPort: CONTAINER_PORT, protocol: "tcp" }] },
  };
  let addResult: unknown;
  const plugins = list.plugins.map((p) => ({ type: p.type, addMs: [] as number[], delMs: [] as number[] }));

  // ctrnet's plugin, found by its type in a directory of its own, on a bridge and subnet of its own
  const pluginDir = `${o.workDir}/plugin-bin`;
  mkdirSync(pluginDir, { recursive: true });
  if (!existsSync(`${pluginDir}/ctrnet`)) symlinkSync(CTRNET, `${pluginDir}/ctrnet`);
  const nativeList: Conflist = {
    cniVersion: "1.0.0",
    name: `native-${o.tag}`,
    plugins: [
      {
        type: "ctrnet",
        bridge: `ctn${o.tag}`,
        capabilities: { portMappings: true, ips: true, mac: true },
        ipam: { type: "host-local", ranges: [[{ subnet: "10.90.4.0/24", gateway: "10.90.4.1" }]], dataDir: `${o.workDir}/native-ipam` },
      },
    ],
  };
  const nativeAtt: ChainAttachment = {
    containerId: `native-${o.tag}`,
    netnsPath: premade("native"),
    ifName: "eth0",
    capabilityArgs: { ips: ["10.90.4.5"], portMappings: [{ hostIP: "127.0.0.1", hostPort: 18086, containerPort: CONTAINER_PORT, protocol: "tcp" }] },
  };
  let nativeResult: unknown;

  const paths: Path[] = [
    ctrnetPath("ctrnet", `own-${o.tag}`, 18081, "10.90.1.5"),
    ctrnetPath("ctrnet --netns (premade netns)", `pre-${o.tag}`, 18082, "10.90.1.6", premade("ctrnet")),
    hookPath,
    {
      name: "netavark",
      attachCommand: `\`${commandLine(netavark("setup"))}\``,
      detachCommand: `\`${commandLine(netavark("teardown"))}\``,
      attach: () => timed(netavark("setup")).ms,
      detach: () => timed(netavark("teardown")).ms,
    },
    {
      name: "CNI plugin chain",
      attachCommand: `ADD ${list.plugins.map((p) => p.type).join(" → ")}, each exec'd by bench/cni-chain.ts from the bench process`,
      detachCommand: "DEL the same in reverse, with the ADD result",
      attach: () => {
        const t0 = performance.now();
        const add = chainAdd(list, att);
        const elapsed = performance.now() - t0;
        addResult = add.result;
        add.pluginMs.forEach((t, i) => plugins[i]!.addMs.push(t));
        return elapsed;
      },
      detach: () => {
        const t0 = performance.now();
        const pluginMs = chainDel(list, att, addResult);
        const elapsed = performance.now() - t0;
        pluginMs.forEach((t, i) => plugins[i]!.delMs.push(t));
        return elapsed;
      },
    },
    ctrnetPath("ctrnet native (create/rm on a network of type ctrnet)", `nat-${o.tag}`, 18087, "10.90.5.5", undefined, nativeNetwork),
    {
      name: "ctrnet plugin (type ctrnet)",
      attachCommand: "ADD of ctrnet's plugin, exec'd by bench/cni-chain.ts from the bench process as a CNI runtime does",
      detachCommand: "DEL of the same, with the ADD result",
      attach: () => {
        const t0 = performance.now();
        nativeResult = chainAdd(nativeList, nativeAtt, [pluginDir]).result;
        return performance.now() - t0;
      },
      detach: () => {
        const t0 = performance.now();
        chainDel(nativeList, nativeAtt, nativeResult, [pluginDir]);
        return performance.now() - t0;
      },
    },
    keptPath(ctrnetPath("ctrnet native, another container running (supervisor up)", `natk-${o.tag}`, 18088, "10.90.5.7", undefined, nativeNetwork)),
  ];

  const results = paths.map((p) => ({ name: p.name, attachCommand: p.attachCommand, detachCommand: p.detachCommand, attachMs: [] as number[], detachMs: [] as number[] }));
  for (let i = -o.warmup; i < o.iterations; i++) {
    paths.forEach((p, k) => {
      results[k]!.attachMs.push(p.attach());
      results[k]!.detachMs.push(p.detach());
    });
    if (i >= 0 && (i + 1) % 10 === 0) console.error(`attach/detach: ${i + 1}/${o.iterations}`);
  }
  for (const name of premadeNames) run(["ip", "netns", "delete", name]);
  // The warm-up rounds fill caches (page cache, iptables chains that stay): not part of the figures.
  const measured = (xs: number[]) => xs.slice(o.warmup);
  return {
    iterations: o.iterations,
    paths: results.map((r) => ({ ...r, attachMs: measured(r.attachMs), detachMs: measured(r.detachMs) })),
    chainPlugins: plugins.map((p) => ({ ...p, addMs: measured(p.addMs), delMs: measured(p.delMs) })),
  };
}

export function attachMarkdown(r: AttachResult): string {
  const [own, pre, hook, nv, chain, native, plugin, kept] = r.paths as [
    AttachPathResult, AttachPathResult, AttachPathResult, AttachPathResult, AttachPathResult, AttachPathResult | undefined, AttachPathResult | undefined, AttachPathResult | undefined,
  ];
  const row = (p: AttachPathResult) =>
    `| ${p.name} | ${ms(median(p.attachMs))} | ${ms(p95(p.attachMs))} | ${ms(median(p.detachMs))} | ${ms(p95(p.detachMs))} |`;
  const ratioRow = (name: string, a: AttachPathResult, b: AttachPathResult) =>
    `| ${name} | ${ratio(median(a.attachMs), median(b.attachMs))} | ${ratio(p95(a.attachMs), p95(b.attachMs))} | ` +
    `${ratio(median(a.detachMs), median(b.detachMs))} | ${ratio(p95(a.detachMs), p95(b.detachMs))} |`;
  return [
    `${r.iterations} attach + detach pairs per path after warm-up, interleaved; wall time in ms. Ratios above 1: ctrnet is slower.`,
    "",
    "| path | attach median | attach p95 | detach median | detach p95 |",
    "|---|---:|---:|---:|---:|",
    ...r.paths.map(row),
    ratioRow("ctrnet / netavark", own, nv),
    ratioRow("ctrnet / CNI chain", own, chain),
    ratioRow("ctrnet --netns / netavark", pre, nv),
    ratioRow("ctrnet --netns / CNI chain", pre, chain),
    ratioRow("ctrnet hook / ctrnet --netns", hook, pre),
    ratioRow("ctrnet hook / netavark", hook, nv),
    ...(native ? [ratioRow("ctrnet native / netavark", native, nv), ratioRow("ctrnet native / CNI chain", native, chain)] : []),
    ...(plugin ? [ratioRow("ctrnet plugin / CNI chain", plugin, chain), ratioRow("ctrnet plugin / netavark", plugin, nv)] : []),
    ...(kept ? [ratioRow("ctrnet native, another running / netavark", kept, nv), ratioRow("ctrnet native, another running / ctrnet native", kept, native!)] : []),
    "",
    `CNI chain, median ms per plugin (bridge includes the host-local IPAM it runs): ` +
      `ADD ${r.chainPlugins.map((p) => `${p.type} ${ms(median(p.addMs))}`).join(", ")}; ` +
      `DEL ${r.chainPlugins.map((p) => `${p.type} ${ms(median(p.delMs))}`).join(", ")}.`,
    "",
    "Commands:",
    "",
    ...r.paths.map((p) => `- ${p.name}: ${p.attachCommand}; ${p.detachCommand}`),
  ].join("\n");
}
