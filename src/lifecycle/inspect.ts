// `ctrnet inspect` and `ctrnet port`: what a container's network looks like, following container:ID to
// the container whose netns it shares, as the seeds' getContainerNetworkInfo does.
import { NotFoundError, UsageError } from "../errors.ts";
import { hostname } from "node:os";
import { formatPort, type PortMapping } from "../schema/ports.ts";
import type { Context } from "./context.ts";
import { type InspectHealth, type InspectHelper, type InspectResult, inspectResult, type InspectView } from "./inspect-format.ts";
import { dnsServerOf } from "./dns.ts";
import { degradation, HELPER_NAMES, helperStates } from "./helpers.ts";
import { driverOf } from "./networks.ts";
import { netnsOwner } from "./lookup.ts";
import { formatNetworkMode } from "./mode.ts";
import { observeNetns } from "../drivers/observe.ts";
import type { ContainerRecord } from "../state/index.ts";
import { adoptedProcess } from "../state/ledger.ts";
import { processAlive } from "../process/supervise.ts";

export async function inspectContainer(ctx: Context, idOrName: string): Promise<InspectResult> {
  const state = ctx.state();
  const rec = state.get(idOrName);
  const owner = netnsOwner(state, rec);
  return inspectResult(rec, owner, inspectView(ctx, owner), inspectHealth(ctx, owner), hostname(), processOf(ctx, owner));
}

/** The running process whose netns the container took (`--pid`, an OCI hook's state pid), as podman's State.Pid. */
function processOf(ctx: Context, owner: ContainerRecord): number | undefined {
  const proc = adoptedProcess(ctx, owner.id);
  return proc && processAlive(proc) ? proc.pid : undefined;
}

/** The helpers of the container owning the netns, by kind, and the one that is gone. */
function inspectHealth(ctx: Context, owner: ContainerRecord): InspectHealth {
  const helpers: Record<string, InspectHelper> = {};
  for (const [kind, h] of Object.entries(helperStates(ctx, owner))) {
    helpers[kind] = {
      Pid: h.pid,
      Running: h.running,
      Restarts: h.restarts,
      ...(h.lastRestart !== undefined ? { LastRestart: new Date(h.lastRestart).toISOString() } : {}),
      ...(h.restartError !== undefined ? { RestartError: h.restartError } : {}),
    };
  }
  // the DNS server answers for every container of its networks: it is theirs as much as this one's
  const dns = dnsServerOf(ctx, owner);
  if (dns) {
    helpers.dnsServer = {
      Pid: dns.pid,
      Running: dns.running,
      Restarts: dns.restarts,
      ...(dns.lastRestart !== undefined ? { LastRestart: new Date(dns.lastRestart).toISOString() } : {}),
      ...(dns.restartError !== undefined ? { RestartError: dns.restartError } : {}),
    };
  }
  const degraded = degradation(ctx, owner)?.reason;
  return { helpers, ...(degraded === undefined ? {} : { degraded }) };
}

/** For `ls`: which helper of a ready container is gone, as `ls` names it; undefined when none is. */
export function degradedHelper(ctx: Context, rec: ContainerRecord): { helper: string; reason: string } | undefined {
  if (rec.state !== "ready") return undefined;
  const found = degradation(ctx, netnsOwnerOrSelf(ctx, rec));
  return found && { helper: HELPER_NAMES[found.helper], reason: found.reason };
}

function netnsOwnerOrSelf(ctx: Context, rec: ContainerRecord): ContainerRecord {
  try {
    return netnsOwner(ctx.state(), rec);
  } catch {
    return rec;
  }
}

/**
 * What the record does not say: the driver's fixed status; for a netns ctrnet joined and did not
 * configure, what it holds; for host and none (no driver, no netns of its own or one ctrnet left empty),
 * their names.
 */
function inspectView(ctx: Context, owner: ContainerRecord): InspectView {
  const driver = driverOf(ctx, owner);
  // slirp4netns and pasta: a network of the mode's name besides the status, as podman's (setDefaultNetworks)
  if (driver?.fixedStatus) return { status: driver.fixedStatus(owner), ...(owner.mode.kind === "slirp4netns" || owner.mode.kind === "pasta" ? { named: owner.mode.kind } : {}) };
  if (driver !== undefined) return {};
  if (owner.netns === null || owner.netns.owned) return { named: formatNetworkMode(owner.mode) };
  const status = observeNetns(owner.netns.path);
  return status ? { status } : {};
}

/** The published ports of a container (those of the netns it shares, if it shares one). */
export function publishedPorts(ctx: Context, idOrName: string): PortMapping[] {
  const state = ctx.state();
  return netnsOwner(state, state.get(idOrName)).ports;
}

/**
 * `PORT[/PROTO]` of `ctrnet port`, as podman's port reads it: tcp when no protocol is given, the port a
 * 16-bit number in strconv's words, the protocol any word (one no port has is not found).
 */
export function parsePortQuery(text: string): { port: number; protocol: string } {
  const fields = text.split("/");
  if (fields.length > 2) throw new UsageError(`port formats are port/protocol. '${text}' is invalid`);
  const [portText = "", protocol = "tcp"] = fields;
  if (!/^[0-9]+$/.test(portText)) throw new UsageError(`strconv.ParseUint: parsing ${JSON.stringify(portText)}: invalid syntax`);
  const port = Number(portText);
  if (port > 65535) throw new UsageError(`strconv.ParseUint: parsing ${JSON.stringify(portText)}: value out of range`);
  return { port, protocol };
}

/** podman port's lines: every mapping, or the host address of one container port. */
export function portLines(ports: readonly PortMapping[], query?: string): string[] {
  // As podman: one line per port of a range (`80/tcp -> 0.0.0.0:8080`, `81/tcp -> 0.0.0.0:8081`).
  if (query === undefined) {
    return ports.flatMap((m) => Array.from({ length: m.range }, (_, i) => formatPort({ ...m, containerPort: m.containerPort + i, hostPort: m.hostPort === 0 ? 0 : m.hostPort + i, range: 1 })));
  }
  const { port, protocol } = parsePortQuery(query);
  const m = ports.find((p) => p.protocol === protocol && port >= p.containerPort && port < p.containerPort + p.range);
  if (!m) throw new NotFoundError(`failed to find published port "${port}/${protocol}"`);
  const host = m.hostPort + (port - m.containerPort);
  const ip = m.hostIP === "" ? "0.0.0.0" : m.hostIP;
  return [ip.includes(":") ? `[${ip}]:${host}` : `${ip}:${host}`];
}
