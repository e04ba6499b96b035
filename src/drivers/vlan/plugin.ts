// The CNI commands of ctrnet's plugin for a macvlan or ipvlan network (`"driver": "macvlan"|"ipvlan"`):
// the same attach and detach code ctrnet's lifecycle uses through its CNI runtime, with the runtime's
// runtimeConfig (IPs, MAC) and CNI_ARGS, and a small record per attachment for DEL, CHECK and GC.
// Port mappings are not taken: as with podman's macvlan networks, nothing is published on them.
import { close } from "../../../ffi/libc.ts";
import { errorMessage } from "../../errors.ts";
import { Netlink } from "../../netlink/index.ts";
import { crashPoint } from "../../process/crash-point.ts";
import { findVlanAttachment, forgetVlanAttachment, listVlanAttachments, saveVlanAttachment, type VlanAttachment } from "../../state/vlan-attachments.ts";
import { netnsUsable } from "../../netns/index.ts";
import { type CniResult, toWire, type WireResult } from "../cni/result.ts";
import { gcLeases, HOST_LOCAL_DATA_DIR, leases } from "../ipam/index.ts";
import { appendTo, openContainerNetns, type PluginContext, PLUGIN_OWNER, prevResultOf, requestedIps } from "../bridge/plugin/commands.ts";
import type { VlanPluginInput } from "../bridge/plugin/config.ts";
import type { PluginEnv } from "../bridge/plugin/env.ts";
import { CNI_CODE, CniPluginError } from "../bridge/plugin/plugin-error.ts";
import { attachVlan, detachVlan, type VlanAttachResult, type VlanNetwork, vlanIpamOf } from "./attach.ts";
import { resultRoutes } from "../static-routes.ts";

function networkOf(input: VlanPluginInput): VlanNetwork {
  return { name: input.name, plugin: input };
}

function dataDirOf(ctx: PluginContext, input: VlanPluginInput): string {
  return vlanIpamOf(networkOf(input), ctx.ipamDataDir ?? HOST_LOCAL_DATA_DIR).dataDir;
}

/** The result as the reference macvlan plugin gives it: the container's interface alone (index 0). */
function resultOf(input: VlanPluginInput, netns: string, r: VlanAttachResult): CniResult {
  return {
    cniVersion: input.cniVersion,
    interfaces: [{ name: r.ifname, mac: r.mac, sandbox: netns }],
    ips: r.addresses.map((a) => ({ address: a.address, gateway: a.gateway, interface: 0 })),
    routes: resultRoutes(r.gateways, r.routes),
    dns: {},
  };
}

export function addVlan(ctx: PluginContext, env: PluginEnv, input: VlanPluginInput): WireResult {
  const prev = prevResultOf(input);
  const network = networkOf(input);
  const dataDir = dataDirOf(ctx, input);
  const netnsFd = openContainerNetns(env.netns!);
  try {
    const mac = input.driver === "macvlan" ? (input.runtimeConfig?.mac ?? env.args.get("MAC")) : undefined;
    const ips = requestedIps(env, input);
    const key = { network: network.name, containerId: env.containerId!, ifname: env.ifname! };
    const result = attachVlan({
      network,
      containerId: key.containerId,
      ifname: key.ifname,
      netnsFd,
      ...(ctx.hostNetnsFd === undefined ? {} : { hostNetnsFd: ctx.hostNetnsFd }),
      dataDir,
      ...(mac ? { mac } : {}),
      ...(ips ? { ips } : {}),
    });
    try {
      saveVlanAttachment(ctx.root, {
        owner: ctx.owner,
        ...key,
        netns: env.netns!,
        driver: input.driver,
        master: input.master ?? "",
        mac: result.mac,
        addresses: result.addresses,
        gateways: result.gateways,
      });
    } catch (err) {
      detachVlan({ network, containerId: key.containerId, ifname: key.ifname, netnsFd, dataDir, addresses: result.addresses.map((a) => a.address) });
      throw new CniPluginError(CNI_CODE.io, `cannot record the attachment in ${ctx.root}: ${errorMessage(err)}`);
    }
    crashPoint("record");
    return toWire(appendTo(prev, resultOf(input, env.netns!, result)), input.cniVersion);
  } finally {
    close(netnsFd);
  }
}

/** Runs fn with the netns open when it is still there (a DEL after the netns went has only leases to release). */
function withNetnsIfThere<T>(path: string | undefined, fn: (fd: number | undefined) => T): T {
  if (path === undefined || !netnsUsable(path)) return fn(undefined);
  let fd: number;
  try {
    fd = openContainerNetns(path);
  } catch {
    return fn(undefined);
  }
  try {
    return fn(fd);
  } finally {
    close(fd);
  }
}

function takeDown(ctx: PluginContext, input: VlanPluginInput, a: Pick<VlanAttachment, "network" | "containerId" | "ifname">, netns: string | undefined, addresses?: readonly string[]): Error[] {
  const network = networkOf(input);
  return withNetnsIfThere(netns, (netnsFd) =>
    detachVlan({ network, containerId: a.containerId, ifname: a.ifname, ...(netnsFd === undefined ? {} : { netnsFd }), dataDir: dataDirOf(ctx, input), ...(addresses ? { addresses } : {}) }),
  );
}

/** Idempotent: whatever is gone already (the netns, the link, the lease, the record) is no error. */
export function delVlan(ctx: PluginContext, env: PluginEnv, input: VlanPluginInput): void {
  const key = { network: input.name, containerId: env.containerId!, ifname: env.ifname! };
  const recorded = findVlanAttachment(ctx.root, key);
  const errors = takeDown(ctx, input, key, env.netns ?? recorded?.netns, recorded?.addresses.map((a) => a.address));
  if (errors.length) throw new CniPluginError(CNI_CODE.failed, errors.map(errorMessage).join("; "));
  forgetVlanAttachment(ctx.root, key);
}

function checkFailed(what: string): CniPluginError {
  return new CniPluginError(CNI_CODE.failed, `CHECK: ${what}`);
}

/** The interface of the right kind, its addresses and default routes, and the leases are all still there. */
export function checkVlan(ctx: PluginContext, env: PluginEnv, input: VlanPluginInput): void {
  const key = { network: input.name, containerId: env.containerId!, ifname: env.ifname! };
  const recorded = findVlanAttachment(ctx.root, key);
  if (recorded === undefined) throw new CniPluginError(CNI_CODE.unknownContainer, `container ${key.containerId} has no ${key.ifname} on network ${key.network}`);
  const netnsFd = openContainerNetns(env.netns!);
  try {
    using inside = Netlink.open({ netns: netnsFd });
    let link;
    try {
      link = inside.link(key.ifname);
    } catch {
      throw checkFailed(`interface ${key.ifname} is missing in ${env.netns}`);
    }
    if (link.kind !== recorded.driver) throw checkFailed(`${key.ifname} is a ${link.kind ?? "device"} link, not a ${recorded.driver}`);
    const held = new Set(inside.addresses({ link: key.ifname }).map((a) => `${a.address}/${a.prefixLength}`));
    for (const a of recorded.addresses) if (!held.has(a.address)) throw checkFailed(`address ${a.address} is missing on ${key.ifname}`);
    const gateways = new Set([...inside.routes({ family: 4 }), ...inside.routes({ family: 6 })].filter((r) => r.dst === "default").map((r) => r.gateway));
    for (const gw of recorded.gateways) if (!gateways.has(gw)) throw checkFailed(`the default route via ${gw} is missing`);
    const mine = leases({ dataDir: dataDirOf(ctx, input), network: key.network }).filter((l) => l.containerId === key.containerId && (l.ifName ?? key.ifname) === key.ifname);
    for (const a of recorded.addresses) {
      if (!mine.some((l) => l.ip === a.address.split("/")[0])) throw checkFailed(`the lease of ${a.address} is gone`);
    }
  } finally {
    close(netnsFd);
  }
}

/** CNI 1.1 GC: what the runtime made through this plugin and no longer lists as valid is taken down. */
export function gcVlan(ctx: PluginContext, input: VlanPluginInput): void {
  const valid = input["cni.dev/valid-attachments"] ?? input["cni.dev/attachments"] ?? [];
  const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
  const errors: unknown[] = [];
  const recorded = listVlanAttachments(ctx.root, input.name);
  for (const a of recorded) {
    if (a.owner !== PLUGIN_OWNER || keep.has(`${a.containerId}\0${a.ifname}`)) continue;
    const failed = takeDown(ctx, input, a, a.netns, a.addresses.map((x) => x.address));
    errors.push(...failed);
    if (failed.length === 0) forgetVlanAttachment(ctx.root, a);
  }
  // Leases with no record left (a crash between allocation and record); ctrnet's own containers' stay.
  const others = recorded.filter((a) => a.owner !== PLUGIN_OWNER).map((a) => ({ containerId: a.containerId, ifName: a.ifname }));
  try {
    gcLeases({ dataDir: dataDirOf(ctx, input), network: input.name }, [...valid.map((a) => ({ containerId: a.containerID, ifName: a.ifname })), ...others]);
  } catch (err) {
    errors.push(err);
  }
  if (errors.length) throw new CniPluginError(CNI_CODE.failed, errors.map(errorMessage).join("; "));
}
