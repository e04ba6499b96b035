// The steps of a native attach and detach (drivers/bridge/attach.ts), each timed on its own, with 1 and with N
// containers already on the network: what grows with the number of containers, links, leases, records and
// map elements. Runs in the bench's sandbox (private net, mount and pid namespaces, tmpfs /run); calls the
// driver's functions in-process, so the figures hold no process start-up. Usage (root):
//   bun bench/scale-steps.ts [N=1000] [REPEATS=15]
// Environment: STEP_DETAIL=1 times each rtnetlink call too; STEP_PAUSE_MS=M sleeps before each step (to tell
// a step's own cost from waiting on the kernel's deferred work); PERF=FILE records `perf record -g` of the
// measurement at N (PERF_ALL=1: of every CPU, kernel workers and other processes included, to see who holds a lock the
// measurement waits on); ADDR_GEN_NONE=1 sets the sandbox's default IPv6 addr_gen_mode to none.
import { mkdirSync } from "node:fs";
import { close } from "../ffi/libc.ts";
import { Netlink } from "../src/netlink/index.ts";
import { createNetns, openNetns, removeNetns, writeSysctl } from "../src/netns/index.ts";
import { attach, detach, firewallNetworkOf, hostInterfaceName, ipamOf, type NativeNetwork, subnetsOf } from "../src/drivers/bridge/attach.ts";
import { attachVeth, detachVeth, ensureBridge } from "../src/drivers/bridge/plumbing.ts";
import { recordedFirewallState } from "../src/drivers/bridge/recorded.ts";
import { Firewall } from "../src/drivers/firewall/index.ts";
import { allocate, release } from "../src/drivers/ipam/index.ts";
import { findNativeAttachment, forgetNativeAttachment, saveNativeAttachment } from "../src/state/native-attachments.ts";
import { runInSandbox, WORK } from "./sandbox.ts";

const DIR = `${WORK}/steps`;
const PAUSE_MS = Number(process.env.STEP_PAUSE_MS ?? 0);
const ROOT = `${DIR}/root`;
const DATA = `${DIR}/ipam`;
const NETNS_DIR = `${DIR}/netns`;
const network: NativeNetwork = {
  name: "steps",
  plugin: { type: "ctrnet", bridge: "ctrsteps0", ipMasq: true, isGateway: true, ipam: { type: "host-local", subnet: "10.93.0.0/16" } } as NativeNetwork["plugin"],
};
const ipam = ipamOf(network, DATA);
const fwNetwork = firewallNetworkOf(network, subnetsOf(ipam));

function containerAttach(i: number, netnsFd: number) {
  const id = `c${i}`;
  const result = attach({
    network, containerId: id, ifname: "eth0", netnsFd, dataDir: DATA,
    ports: [{ protocol: "tcp", hostIP: "127.0.0.1", hostPort: 20000 + (i % 40000), containerPort: 80 }],
    firewallState: () => recordedFirewallState(ROOT), unrecorded: findNativeAttachment(ROOT, { network: network.name, containerId: id, ifname: "eth0" }) === undefined,
  });
  saveNativeAttachment(ROOT, {
    owner: "cni", network: network.name, containerId: id, ifname: "eth0", netns: `${NETNS_DIR}/n${i}`, bridge: network.plugin.bridge,
    subnets: [...fwNetwork.subnets], hostInterface: result.hostInterface, mac: result.mac, addresses: result.addresses, gateways: result.gateways, ports: result.ports,
  });
  return result;
}

type Step = [string, () => void];

/** With STEP_DETAIL set, each rtnetlink call is timed too, under the step that made it. */
let current: Map<string, number> | undefined;
let currentStep = "";
if (process.env.STEP_DETAIL) {
  const proto = Netlink.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ["linkAdd", "linkSet", "bridgePortSet", "addressAdd", "routeAdd", "link", "addresses", "forwarding", "linkDelete"]) {
    const original = proto[method]!;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      const t0 = Bun.nanoseconds();
      try {
        return original.apply(this, args);
      } finally {
        const name = `${currentStep} > ${method}(${typeof args[0] === "string" ? args[0] : typeof args[0] === "number" ? "index" : ""}${method === "linkSet" ? ` ${Object.keys(args[1] as object).join("+")}` : ""})`;
        current?.set(name, (current.get(name) ?? 0) + (Bun.nanoseconds() - t0) / 1e6);
      }
    };
  }
}

/** One traced attach + detach of container `i`, step by step, as attach()/attachVeth()/detach() do them. */
function steps(i: number, netnsFd: number): Map<string, number> {
  const id = `c${i}`;
  const key = { network: network.name, containerId: id, ifname: "eth0" };
  const times = new Map<string, number>();
  const time = (name: string, fn: () => void) => {
    if (PAUSE_MS) Bun.sleepSync(PAUSE_MS);
    current = times;
    currentStep = name;
    const t0 = Bun.nanoseconds();
    fn();
    times.set(name, (times.get(name) ?? 0) + (Bun.nanoseconds() - t0) / 1e6);
  };
  let host!: Netlink, container!: Netlink, fw!: Firewall;
  let allocations: ReturnType<typeof allocate> = [];
  let bridgeIndex = 0;
  const hostName = hostInterfaceName(id, "eth0");
  const bridge = { name: network.plugin.bridge, gateways: ["10.93.0.1/16"], routeLocalnet: true };
  const port = () => ({ protocol: "tcp" as const, hostIP: "127.0.0.1", hostPort: 20000 + (i % 40000), containerIP: allocations[0]!.ip, containerPort: 80 });
  // attach() of drivers/bridge/attach.ts and the record the plugin's ADD writes, call by call
  const attachSteps: Step[] = [
    ["record lookup (findNativeAttachment)", () => void findNativeAttachment(ROOT, key)],
    ["ipam allocate", () => void (allocations = allocate({ dataDir: DATA, network: network.name, containerId: id, ifName: "eth0", rangeSets: ipam.rangeSets, unheld: true, ownerMarks: true }))],
    ["netlink + nft sockets", () => { host = Netlink.open(); container = Netlink.open({ netns: netnsFd }); fw = Firewall.open(); }],
    ["ensureBridge", () => void (bridgeIndex = ensureBridge(host, bridge))],
    ["firewall ensureNetwork", () => fw.ensureNetwork(fwNetwork, () => recordedFirewallState(ROOT))],
    ["attachVeth", () => void attachVeth(host, container, { ...bridge, index: bridgeIndex }, { netnsFd, ifname: "eth0", hostName, addresses: allocations.map((a) => a.address), gateways: ["10.93.0.1"] })],
    ["firewall publish", () => fw.publish([port()])],
    ["close sockets", () => { fw.close(); container.close(); host.close(); }],
    ["record save", () => saveNativeAttachment(ROOT, { owner: "cni", ...key, netns: "x", bridge: bridge.name, subnets: [...fwNetwork.subnets], hostInterface: hostName, mac: "", addresses: allocations.map((a) => ({ address: a.address, gateway: a.gateway })), gateways: [], ports: [] })],
  ];
  for (const [name, fn] of attachSteps) time(`attach: ${name}`, fn);
  // detach() and the plugin's DEL
  const detachSteps: Step[] = [
    ["record lookup", () => void findNativeAttachment(ROOT, key)],
    ["firewall unpublish", () => { using f = Firewall.open(); f.unpublish([port()], () => recordedFirewallState(ROOT, key)); }],
    ["detachVeth", () => { using h = Netlink.open(); detachVeth(h, hostName); }],
    ["ipam release (known)", () => void release({ dataDir: DATA, network: network.name, containerId: id, ifName: "eth0", known: allocations.map((a) => a.ip) })],
    ["record forget", () => forgetNativeAttachment(ROOT, key)],
  ];
  for (const [name, fn] of detachSteps) time(`detach: ${name}`, fn);
  const sum = (prefix: string) => [...times].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0);
  times.set("attach: TOTAL of the steps", sum("attach: "));
  times.set("detach: TOTAL of the steps", sum("detach: "));
  return times;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function measure(label: string, netnsFd: number, repeats: number): Map<string, number> {
  const all = new Map<string, number[]>();
  for (let r = 0; r < repeats; r++) {
    for (const [k, v] of steps(9999, netnsFd)) all.set(k, [...(all.get(k) ?? []), v]);
  }
  console.error(`measured at ${label}`);
  return new Map([...all].map(([k, v]) => [k, median(v)]));
}

if (process.argv[2] !== "--in-sandbox") {
  process.exitCode = await runInSandbox(import.meta.path, process.argv.slice(2));
} else {
  const n = Number(process.argv[3] ?? 1000);
  const repeats = Number(process.argv[4] ?? 15);
  mkdirSync(ROOT, { recursive: true });
  writeSysctl(["ipv4", "ip_forward"], "1");
  if (process.env.ADDR_GEN_NONE) writeSysctl(["ipv6", "conf", "default", "addr_gen_mode"], "1");
  const probe = createNetns({ name: "probe", dir: NETNS_DIR });
  const probeFd = openNetns(probe.path);
  const fds: number[] = [];
  const add = (i: number) => {
    const ns = createNetns({ name: `n${i}`, dir: NETNS_DIR });
    const fd = openNetns(ns.path);
    fds.push(fd);
    containerAttach(i, fd);
  };
  add(1);
  const at1 = measure("1", probeFd, repeats);
  for (let i = 2; i <= n; i++) {
    add(i);
    if (i % 200 === 0) console.error(`${i} attached`);
  }
  const perf = process.env.PERF ? Bun.spawn(["perf", "record", "-g", ...(process.env.PERF_ALL ? ["-a"] : ["-p", String(process.pid)]), "-o", process.env.PERF], { stdio: ["ignore", "ignore", "inherit"] }) : undefined;
  if (perf) Bun.sleepSync(500);
  const atN = measure(String(n), probeFd, repeats);
  if (perf) {
    perf.kill("SIGINT");
    await perf.exited;
  }
  const rows = [...at1.keys()].map((k) => `| ${k} | ${at1.get(k)!.toFixed(3)} | ${atN.get(k)!.toFixed(3)} | ${(atN.get(k)! / at1.get(k)!).toFixed(2)}× |`);
  console.log([`| step (median of ${repeats}, ms) | with 1 | with ${n} | ratio |`, "|---|---:|---:|---:|", ...rows].join("\n"));
  for (let i = n; i >= 1; i--) {
    const key = { network: network.name, containerId: `c${i}`, ifname: "eth0" };
    const rec = findNativeAttachment(ROOT, key)!;
    detach({ network, containerId: `c${i}`, ifname: "eth0", dataDir: DATA, ports: rec.ports, addresses: rec.addresses.map((a) => a.address), firewallState: () => recordedFirewallState(ROOT, key) });
    forgetNativeAttachment(ROOT, key);
    close(fds[i - 1]!);
    removeNetns(`n${i}`, { dir: NETNS_DIR });
  }
  close(probeFd);
}
