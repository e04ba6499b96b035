// The six CNI commands over ctrnet's native bridge driver: the same attach and detach code the lifecycle
// uses, with the runtime's runtimeConfig (ports, IPs, MAC) and CNI_ARGS, and the native attachments'
// store for what DEL, CHECK and GC need later and for rebuilding the firewall table after a flush.
import { close } from "../../../../ffi/libc.ts";
import { attach, type AttachResult, detach, firewallNetworkOf, hostInterfaceName, ipamOf, type NativeNetwork, type PortRequest, subnetsOf } from "../attach.ts";
import { type CniResult, parseResult, toWire, type WireResult } from "../../cni/result.ts";
import { Firewall, type PublishedPort } from "../../firewall/index.ts";
import { detachVeth } from "../plumbing.ts";
import { recordedFirewallState } from "../recorded.ts";
import { gcLeases, HOST_LOCAL_DATA_DIR, leases } from "../../ipam/index.ts";
import { errorMessage } from "../../../errors.ts";
import { Netlink } from "../../../netlink/index.ts";
import { crashPoint } from "../../../process/crash-point.ts";
import { phase } from "../../../trace.ts";
import { NetnsNotFoundError, NotANetnsError, openNetns } from "../../../netns/index.ts";
import {
  findNativeAttachment,
  forgetNativeAttachment,
  listNativeAttachments,
  type NativeAttachment,
  saveNativeAttachment,
} from "../../../state/native-attachments.ts";
import type { PluginInput } from "./config.ts";
import { PLUGIN_VERSIONS } from "./config.ts";
import type { PluginEnv } from "./env.ts";
import { CNI_CODE, CniPluginError } from "./plugin-error.ts";
import { resultRoutes } from "../../static-routes.ts";
import { HOST_IFNAME_ARG } from "../../../schema/ctrnet-plugin.ts";

/** Attachments a runtime made through the plugin; ctrnet's own containers carry their state dir instead. */
export const PLUGIN_OWNER = "cni";

export interface PluginContext {
  /** ctrnet's state dir: where the native attachments' store is. */
  root: string;
  /**
   * Who makes the attachments of this call: PLUGIN_OWNER for a runtime, `ctrnet:<state dir>` when ctrnet's
   * own CNI runtime calls the plugin for its containers. GC through the plugin takes down only a
   * runtime's, so podman's GC of a shared network never reaches ctrnet's containers.
   */
  owner: string;
  /** Where the bridge and the firewall table live (a rootless user's rootless netns); default: this netns. */
  hostNetnsFd?: number;
  /** host-local's dataDir when the configuration names none; default HOST_LOCAL_DATA_DIR. */
  ipamDataDir?: string;
}

function hostNetns(ctx: PluginContext): { hostNetnsFd?: number } {
  return ctx.hostNetnsFd === undefined ? {} : { hostNetnsFd: ctx.hostNetnsFd };
}

function openHost(ctx: Pick<PluginContext, "hostNetnsFd">): Netlink {
  return Netlink.open(ctx.hostNetnsFd === undefined ? {} : { netns: ctx.hostNetnsFd });
}

function networkOf(input: PluginInput): NativeNetwork {
  return { name: input.name, plugin: input };
}

export function openContainerNetns(path: string): number {
  try {
    return openNetns(path);
  } catch (err) {
    if (err instanceof NetnsNotFoundError || err instanceof NotANetnsError) throw new CniPluginError(CNI_CODE.unknownContainer, errorMessage(err));
    throw err;
  }
}

/** Requested addresses: runtimeConfig.ips, else args.cni.ips, else CNI_ARGS IP (comma-separated). */
export function requestedIps(env: PluginEnv, input: Pick<PluginInput, "runtimeConfig" | "args">): string[] | undefined {
  const ips = input.runtimeConfig?.ips ?? input.args?.cni?.ips ?? env.args.get("IP")?.split(",").filter(Boolean);
  return ips?.length ? ips : undefined;
}

function portRequests(input: PluginInput): PortRequest[] {
  return (input.runtimeConfig?.portMappings ?? []).map((p) => ({
    protocol: p.protocol,
    hostPort: p.hostPort,
    containerPort: p.containerPort,
    ...(p.hostIP && p.hostIP !== "0.0.0.0" && p.hostIP !== "::" ? { hostIP: p.hostIP } : {}),
  }));
}

function dataDirOf(ctx: PluginContext, input: PluginInput): string {
  return input.ipam?.dataDir ?? ctx.ipamDataDir ?? HOST_LOCAL_DATA_DIR;
}

/** The result as the bridge plugin gives it: bridge, host veth, the container's interface (index 2). */
function resultOf(input: PluginInput, netns: string, r: AttachResult): CniResult {
  return {
    cniVersion: input.cniVersion,
    interfaces: [{ name: input.bridge }, { name: r.hostInterface }, { name: r.ifname, mac: r.mac, sandbox: netns }],
    ips: r.addresses.map((a) => ({ address: a.address, gateway: a.gateway, interface: 2 })),
    routes: resultRoutes(r.gateways, r.routes),
    dns: {},
  };
}

/** An interface plugin in a chain appends to what the plugins before it reported. */
export function appendTo(prev: CniResult | undefined, ours: CniResult): CniResult {
  if (prev === undefined) return ours;
  const offset = prev.interfaces.length;
  return {
    cniVersion: ours.cniVersion,
    interfaces: [...prev.interfaces, ...ours.interfaces],
    ips: [...prev.ips, ...ours.ips.map((ip) => ({ ...ip, interface: ip.interface === undefined ? undefined : ip.interface + offset }))],
    routes: [...prev.routes, ...ours.routes],
    dns: prev.dns,
  };
}

export function prevResultOf(input: Pick<PluginInput, "prevResult">): CniResult | undefined {
  if (input.prevResult === undefined) return undefined;
  try {
    return parseResult(input.prevResult);
  } catch (err) {
    throw new CniPluginError(CNI_CODE.decoding, `prevResult: ${errorMessage(err)}`);
  }
}

export function add(ctx: PluginContext, env: PluginEnv, input: PluginInput): WireResult {
  const prev = prevResultOf(input);
  const network = networkOf(input);
  const ipam = ipamOf(network, dataDirOf(ctx, input));
  const fwNetwork = firewallNetworkOf(network, subnetsOf(ipam));
  const netnsFd = openContainerNetns(env.netns!);
  phase("add: config parsed, netns open");
  try {
    const mac = input.runtimeConfig?.mac ?? env.args.get("MAC");
    const ips = requestedIps(env, input);
    const hostInterface = env.args.get(HOST_IFNAME_ARG);
    const result = attach({
      network,
      containerId: env.containerId!,
      ifname: env.ifname!,
      netnsFd,
      ...hostNetns(ctx),
      dataDir: ipam.dataDir,
      ...(mac ? { mac } : {}),
      ...(ips ? { ips } : {}),
      ...(hostInterface ? { hostInterface } : {}),
      ports: portRequests(input),
      // the network being attached comes first when the table is made again (ensureNetwork adds it)
      firewallState: () => recordedFirewallState(ctx.root),
      // every attachment made here is recorded below, whoever asked for it: none on record, no lease held
      unrecorded: findNativeAttachment(ctx.root, { network: network.name, containerId: env.containerId!, ifname: env.ifname! }) === undefined,
    });
    try {
      saveNativeAttachment(ctx.root, {
        owner: ctx.owner,
        network: network.name,
        containerId: env.containerId!,
        ifname: env.ifname!,
        netns: env.netns!,
        bridge: input.bridge,
        subnets: fwNetwork.subnets as string[],
        ...(fwNetwork.internal ? { internal: true } : {}),
        ...(fwNetwork.isolate ? { isolate: fwNetwork.isolate } : {}),
        ...(network.plugin.mode === "unmanaged" ? { unmanaged: true as const } : {}),
        hostInterface: result.hostInterface,
        mac: result.mac,
        addresses: result.addresses,
        gateways: result.gateways,
        ports: result.ports,
      });
    } catch (err) {
      detach({ network, containerId: env.containerId!, ifname: env.ifname!, ...hostNetns(ctx), dataDir: ipam.dataDir, ports: result.ports, addresses: result.addresses.map((a) => a.address) });
      throw new CniPluginError(CNI_CODE.io, `cannot record the attachment in ${ctx.root}: ${errorMessage(err)}`);
    }
    crashPoint("record");
    phase("add: recorded");
    return toWire(appendTo(prev, resultOf(input, env.netns!, result)), input.cniVersion);
  } finally {
    close(netnsFd);
  }
}

/**
 * Ports DEL must unpublish when nothing was recorded (a record lost with its state dir): the runtime's
 * port mappings, to the addresses its cached result names.
 */
function portsFromRuntime(input: PluginInput): PublishedPort[] {
  const prev = input.prevResult === undefined ? undefined : prevResultOf(input);
  const addresses = (prev?.ips ?? []).map((ip) => ip.address.split("/")[0]!);
  return portRequests(input).flatMap((p) =>
    addresses
      .filter((a) => (p.hostIP === undefined ? true : p.hostIP.includes(":") === a.includes(":")))
      .map((containerIP) => ({ protocol: p.protocol, hostPort: p.hostPort, containerIP, containerPort: p.containerPort, ...(p.hostIP ? { hostIP: p.hostIP } : {}) })),
  );
}

/** Idempotent: whatever is gone already (the netns, the lease, the record) is no error. */
export function del(ctx: PluginContext, env: PluginEnv, input: PluginInput): void {
  const network = networkOf(input);
  const key = { network: network.name, containerId: env.containerId!, ifname: env.ifname! };
  const recorded = findNativeAttachment(ctx.root, key);
  const ports = recorded?.ports ?? portsFromRuntime(input);
  // without a record, ports can be in the table that neither the runtime nor its cached result knows of
  const errors = detach({
    network,
    containerId: key.containerId,
    ifname: key.ifname,
    ...hostNetns(ctx),
    dataDir: ipamOf(network, dataDirOf(ctx, input)).dataDir,
    ports,
    firewallState: () => recordedFirewallState(ctx.root, key),
    ...(recorded === undefined ? { portsUnknown: true } : { addresses: recorded.addresses.map((a) => a.address) }),
    // the host end as setup named it (podman's host_interface_name), else as the runtime says now
    ...(recorded?.hostInterface ?? env.args.get(HOST_IFNAME_ARG) ? { hostInterface: recorded?.hostInterface ?? env.args.get(HOST_IFNAME_ARG) } : {}),
    ...(env.netnsGone ? { netnsGone: true } : {}),
  });
  if (errors.length) throw new CniPluginError(CNI_CODE.failed, errors.map(errorMessage).join("; "));
  forgetNativeAttachment(ctx.root, key);
}

function checkFailed(what: string): CniPluginError {
  return new CniPluginError(CNI_CODE.failed, `CHECK: ${what}`);
}

/** The interface, its addresses and routes, the host end on the bridge, and the leases are all still there. */
export function check(ctx: PluginContext, env: PluginEnv, input: PluginInput): void {
  const network = networkOf(input);
  const key = { network: network.name, containerId: env.containerId!, ifname: env.ifname! };
  const recorded = findNativeAttachment(ctx.root, key);
  if (recorded === undefined) throw new CniPluginError(CNI_CODE.unknownContainer, `container ${key.containerId} has no ${key.ifname} on network ${key.network}`);
  const netnsFd = openContainerNetns(env.netns!);
  const host = openHost(ctx);
  const inside = Netlink.open({ netns: netnsFd });
  try {
    let link;
    try {
      link = inside.link(key.ifname);
    } catch {
      throw checkFailed(`interface ${key.ifname} is missing in ${env.netns}`);
    }
    const held = new Set(inside.addresses({ link: key.ifname }).map((a) => `${a.address}/${a.prefixLength}`));
    for (const a of recorded.addresses) if (!held.has(a.address)) throw checkFailed(`address ${a.address} is missing on ${key.ifname}`);
    const gateways = new Set(inside.routes({ family: 4 }).concat(inside.routes({ family: 6 })).filter((r) => r.dst === "default").map((r) => r.gateway));
    for (const gw of recorded.gateways) if (!gateways.has(gw)) throw checkFailed(`the default route via ${gw} is missing`);
    if (link.mac && recorded.mac && link.mac !== recorded.mac) throw checkFailed(`${key.ifname} has MAC ${link.mac}, not ${recorded.mac}`);
    let hostEnd;
    try {
      hostEnd = host.link(recorded.hostInterface);
    } catch {
      throw checkFailed(`the host end ${recorded.hostInterface} is missing`);
    }
    if (hostEnd.master !== host.link(recorded.bridge).index) throw checkFailed(`${recorded.hostInterface} is not on bridge ${recorded.bridge}`);
    const ipam = ipamOf(network, dataDirOf(ctx, input));
    const mine = leases({ dataDir: ipam.dataDir, network: network.name }).filter((l) => l.containerId === key.containerId && (l.ifName ?? key.ifname) === key.ifname);
    for (const a of recorded.addresses) {
      if (!mine.some((l) => l.ip === a.address.split("/")[0])) throw checkFailed(`the lease of ${a.address} is gone from ${ipam.dataDir}`);
    }
  } finally {
    inside.close();
    host.close();
    close(netnsFd);
  }
}

/** CNI 1.1 GC: what the runtime made through this plugin and no longer lists as valid is taken down. */
export function gc(ctx: PluginContext, input: PluginInput): void {
  const network = networkOf(input);
  const valid = input["cni.dev/valid-attachments"] ?? input["cni.dev/attachments"] ?? [];
  const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
  const ipam = ipamOf(network, dataDirOf(ctx, input));
  const errors: unknown[] = [];
  const recorded = listNativeAttachments(ctx.root, { network: network.name });
  for (const a of recorded) {
    if (a.owner !== PLUGIN_OWNER || keep.has(`${a.containerId}\0${a.ifname}`)) continue;
    const failed = detach({
      network,
      containerId: a.containerId,
      ifname: a.ifname,
      ...hostNetns(ctx),
      dataDir: ipam.dataDir,
      ports: a.ports,
      addresses: a.addresses.map((x) => x.address),
      hostInterface: a.hostInterface,
      firewallState: () => recordedFirewallState(ctx.root, a),
    });
    errors.push(...failed);
    if (failed.length === 0) forgetNativeAttachment(ctx.root, a);
  }
  // Leases with no record left: a crash between allocation and record. ctrnet's own containers' stay.
  const others = recorded.filter((a: NativeAttachment) => a.owner !== PLUGIN_OWNER).map((a) => ({ containerId: a.containerId, ifName: a.ifname }));
  try {
    const released = gcLeases({ dataDir: ipam.dataDir, network: network.name }, [...valid.map((a) => ({ containerId: a.containerID, ifName: a.ifname })), ...others]);
    // and what such an attach made for them: its ports, its veth pair (named after the lease's owner)
    if (released.length) {
      using fw = Firewall.open(ctx.hostNetnsFd === undefined ? {} : { netns: ctx.hostNetnsFd });
      fw.unpublishTo(released.map((l) => l.ip));
      using host = openHost(ctx);
      for (const l of released) if (l.ifName !== undefined) detachVeth(host, hostInterfaceName(l.containerId, l.ifName));
    }
  } catch (err) {
    errors.push(err);
  }
  if (errors.length) throw new CniPluginError(CNI_CODE.failed, errors.map(errorMessage).join("; "));
}

/** Ready when the kernel interfaces it needs answer: rtnetlink and nf_tables in this netns. */
export function status(ctx: Pick<PluginContext, "hostNetnsFd">): void {
  try {
    openHost(ctx).close();
  } catch (err) {
    throw new CniPluginError(CNI_CODE.notAvailable, `rtnetlink is not available: ${errorMessage(err)}`);
  }
}

export function version(requested: string): WireResult {
  const answer = (PLUGIN_VERSIONS as readonly string[]).includes(requested) ? requested : PLUGIN_VERSIONS.at(-1)!;
  return { cniVersion: answer, supportedVersions: [...PLUGIN_VERSIONS] };
}
