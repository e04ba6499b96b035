// `ctrnet create`: the seeds' createNetNS / setupNetNS / joinNetNS + configureNetNS. Everything is checked
// before anything is made; the record is stored (`creating`) before the first side effect and names the
// netns to be made, so a crash at any later point leaves something `ctrnet gc` can finish; a failure
// undoes every step taken.
import { phase } from "../trace.ts";
import { basename } from "node:path";
import { ErrorList, exitCodeOf, UsageError } from "../errors.ts";
import { ipFamily } from "../ip/codec.ts";
import { validateName } from "../names.ts";
import { adoptNetns, createNetns, NetnsNotFoundError, netnsInode, openNetns, plannedNetnsPath } from "../netns/index.ts";
import { DEFAULT_NETWORK } from "../networks/default.ts";
import { validateIP, validateMAC } from "../schema/ip.ts";
import { defaultHostIPs, type ExposedPort, type PortMapping, parseExposeSpecs, parsePortSpecs, publishAllMappings, withHostIPs } from "../schema/ports.ts";
import { log } from "../log.ts";
import { type ContainerRecord, type NetMode, staticMACOf, staticsOf } from "../state/index.ts";
import { close } from "../../ffi/libc.ts";
import { publishedOn } from "../container/ports.ts";
import { driverFor } from "../drivers/select.ts";
import { PluginNotFoundError } from "../drivers/cni/index.ts";
import type { Context } from "./context.ts";
import { assignHostPorts, checkHostPortsFree } from "./host-ports.ts";
import { markNetns, recordProcess } from "../state/ledger.ts";
import { type HeldLock, withContainerLock } from "../state/lock.ts";
import { type NetworkModeSpec, parseNetworkMode } from "./mode.ts";
import { newContainerRecord } from "../container/attachments.ts";
import { findExact, netnsOwner } from "./lookup.ts";
import type { EtcOptions } from "../container/etc-options.ts";
import { etcFilesOf, etcOptionsOf, wantedEtcFiles, writeEtcFiles } from "./etc-files.ts";
import { validateIfName } from "../drivers/cni/ifname.ts";
import { bringLoopbackUp } from "../netlink/index.ts";
import { type AdoptedProcess, startTimeOf } from "../process/supervise.ts";
import { setUpNetworks } from "./networks.ts";
import { prestartDns, syncDns } from "./dns.ts";
import { checkAddressFree } from "../container/static-ip.ts";
import { teardownContainer } from "./teardown.ts";
import { removeContainer } from "./remove.ts";
import { superviseDnsServer, superviseHelpers } from "./supervisor.ts";
import type { CreateRequest, NetnsRequest } from "./types.ts";

/**
 * Network modes whose container publishes no port, by podman's name for them (specgen's NamespaceMode: ns:PATH
 * is "path"): podman warns that -p is dropped and goes on (isPortMappingCompatibleNetNSMode).
 */
const DISCARDING_PORTS: Readonly<Record<string, string>> = { host: "host", none: "none", container: "container", ns: "path" };
export const portsDiscarded = (nsMode: string): string => `Port mappings have been discarded because "${nsMode}" network namespace mode does not support them`;

interface CreatePlan {
  id: string;
  name: string | null;
  mode: NetMode;
  /** The CNI networks, in order, each with its aliases, interface name and static addresses and MAC asked for. */
  networks: PlannedNetwork[];
  ports: PortMapping[];
  exposed: ExposedPort[];
  publishAll: boolean;
  /** null: the container has no netns of its own (host, container:ID). */
  netns: NetnsRequest | null;
  /** Loopback up and the driver's networks set up; false: the netns is used as it is (ns:PATH). */
  configures: boolean;
  etc: EtcOptions;
}

interface PlannedNetwork {
  network: string;
  aliases: string[];
  ifname?: string;
  staticIPs?: string[];
  staticMAC?: string;
  hostIfname?: string;
}

/** Opens and closes it: a path that is no netns is bad input, found before anything is made. */
function checkNetnsPath(path: string): void {
  close(openNetns(path));
}

/** --network ns:PATH (and --netns): a missing path in ctrnet's words, then podman's (its faccessat). */
function checkJoinedNetns(path: string): void {
  try {
    checkNetnsPath(path);
  } catch (err) {
    if (err instanceof NetnsNotFoundError) throw new UsageError(`${err.message} (faccessat ${path}: no such file or directory)`);
    throw err;
  }
}

function procNetnsPath(pid: number): string {
  return `/proc/${pid}/ns/net`;
}

function checkProcess(pid: number): void {
  try {
    checkNetnsPath(procNetnsPath(pid));
  } catch {
    throw new UsageError(`process ${pid} does not exist (or its network namespace cannot be opened)`);
  }
}

function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid < 1) throw new UsageError(`invalid pid ${pid}`);
}

/** The request's netns source, checked; null when the mode gives the container no netns of its own. */
function netnsSource(asked: NetnsRequest, spec: NetworkModeSpec): NetnsRequest | null {
  if (!spec.configures && asked.kind !== "create") {
    throw new UsageError(`--netns and --pid need network mode bridge, a network name, none, slirp4netns or pasta, not ${spec.mode.kind}`);
  }
  switch (asked.kind) {
    case "adopt":
      checkPid(asked.pid);
      if (asked.keep === "process" && asked.via !== undefined) checkNetnsPath(asked.via);
      else checkProcess(asked.pid);
      return asked;
    case "join":
      if (!asked.path.startsWith("/")) throw new UsageError(`--netns takes an absolute path, got "${asked.path}"`);
      checkNetnsPath(asked.path);
      if (asked.watchPid !== undefined) checkPid(asked.watchPid);
      return asked;
    case "create":
      if (spec.joins !== undefined) {
        checkJoinedNetns(spec.joins);
        return { kind: "join", path: spec.joins };
      }
      return spec.configures ? asked : null;
  }
}

/**
 * podman's netflags check of --ip, --ip6, --mac-address and --network-alias on a mode other than bridge, in
 * its order and words: each value parsed first, then the mode; the default mode (a rootless user's
 * slirp4netns or pasta) passes that check and fails specgen's instead.
 */
function staticOptionsNeedBridge(req: CreateRequest, defaultMode: boolean): void {
  const fail = (flag: string) => {
    throw new UsageError(defaultMode ? "networks and static ip/mac address can only be used with Bridge mode networking" : `--${flag} can only be set when the network mode is bridge: invalid argument`);
  };
  const perNetwork = req.networkOptions ?? [];
  for (const ip of [req.ip, req.ip6, ...perNetwork.flatMap((o) => o.ips ?? [])]) {
    if (ip === undefined) continue;
    if (ipFamily(ip) === 0) throw new UsageError(`${JSON.stringify(ip)} is not an ip address`);
    fail(ip.includes(":") ? "ip6" : "ip");
  }
  for (const mac of [req.mac, ...perNetwork.map((o) => o.mac)]) {
    if (mac === undefined) continue;
    validateMAC(mac);
    fail("mac-address");
  }
  if (req.aliases?.length || perNetwork.some((o) => o.aliases?.length)) fail("network-alias");
}

/**
 * The default network, made first if it is missing. The code that plans a network (networks/create.ts and
 * what it imports) loads only here: a create on named networks never needs it.
 */
async function ensureDefaultNetwork(ctx: Context): Promise<void> {
  await (await import("../networks/create.ts")).ensureDefaultNetwork(ctx);
}

async function plan(ctx: Context, req: CreateRequest): Promise<CreatePlan> {
  const id = validateName("container id", req.id);
  const name = req.name === undefined ? null : validateName("container name", req.name);
  const spec = parseNetworkMode(req.network, ctx.rootless);
  let mode = spec.mode;
  const hostIPs = defaultHostIPs();
  const given = parsePortSpecs(req.ports ?? [], hostIPs);
  const exposed = parseExposeSpecs(req.expose ?? []);
  let ports = req.publishAll ? [...given, ...withHostIPs(publishAllMappings(exposed, given), hostIPs)] : given;
  const driver = driverFor(mode, ctx);
  if (!driver && ports.length) {
    // podman's specgen: these modes have no ports to publish, and it goes on without them (-P alone, silently)
    const nsMode = DISCARDING_PORTS[mode.kind];
    if (nsMode === undefined) throw new UsageError(`published ports need a CNI network, slirp4netns or pasta; network mode ${mode.kind} has none`);
    if (given.length) log.warn(portsDiscarded(nsMode));
    ports = [];
  }
  if (mode.kind !== "bridge") staticOptionsNeedBridge(req, req.network === undefined || req.network === "default" || req.network === "private");
  const ip = req.ip === undefined ? undefined : validateIP(req.ip);
  const ip6 = req.ip6 === undefined ? undefined : validateIP(req.ip6);
  if (ip6 !== undefined && (ip === undefined || ip.includes(":") || !ip6.includes(":"))) throw new UsageError("--ip6 beside --ip needs an IPv4 --ip and an IPv6 --ip6");
  const mac = req.mac === undefined ? undefined : validateMAC(req.mac);
  const aliases = (req.aliases ?? []).map((a) => validateName("network alias", a));
  const perNetwork = (req.networkOptions ?? []).map((o) => ({
    ips: (o.ips ?? []).map(validateIP),
    mac: o.mac === undefined ? undefined : validateMAC(o.mac),
    aliases: (o.aliases ?? []).map((a) => validateName("network alias", a)),
    ifname: o.interfaceName === undefined ? undefined : validateIfName("interface_name", o.interfaceName),
    hostIfname: o.hostInterfaceName === undefined ? undefined : validateIfName("host_interface_name", o.hostInterfaceName),
  }));
  if (!driver && perNetwork.some((o) => o.ifname !== undefined)) throw new UsageError(`interface_name needs a CNI network; network mode ${mode.kind} has none`);
  const hostIfnames = perNetwork.flatMap((o) => (o.hostIfname === undefined ? [] : [o.hostIfname]));
  if (new Set(hostIfnames).size !== hostIfnames.length) throw new UsageError("host_interface_name: one name is given to two networks");
  if (mode.kind === "container") {
    const target = ctx.state().get(mode.id);
    if (target.id === id) throw new UsageError(`container "${id}" cannot share its own network namespace`);
    mode = { kind: "container", id: target.id };
  }
  const netns = netnsSource(req.netns ?? { kind: "create" }, spec);
  let names = spec.networks;
  if (spec.defaultNetwork) {
    await ensureDefaultNetwork(ctx);
    names = [DEFAULT_NETWORK];
  } else if (names.includes(DEFAULT_NETWORK)) {
    // named beside others (podman's `--network bridge --network n2`): made as when it is the only one
    await ensureDefaultNetwork(ctx);
  }
  if (perNetwork.length > names.length) throw new UsageError(`per-network options for ${perNetwork.length} networks, but the network mode names ${names.length}`);
  // by name or id prefix, as podman; each with its own options, the flags' on the first (podman allows
  // them with one network only) and --alias on all, instead of their own (podman's netflags)
  const networks: PlannedNetwork[] = [];
  for (const [i, n] of names.entries()) {
    const own = perNetwork[i];
    const staticIPs = [...(own?.ips ?? []), ...(i === 0 ? [ip, ip6].filter((a) => a !== undefined) : [])];
    const staticMAC = (i === 0 ? mac : undefined) ?? own?.mac;
    networks.push({
      network: (await ctx.cni.resolveNetwork(n)).name,
      aliases: aliases.length ? aliases : (own?.aliases ?? []),
      ...(own?.ifname !== undefined ? { ifname: own.ifname } : {}),
      ...(own?.hostIfname !== undefined ? { hostIfname: own.hostIfname } : {}),
      ...(staticIPs.length ? { staticIPs } : {}),
      ...(staticMAC !== undefined ? { staticMAC } : {}),
    });
  }
  // the state only once every argument is known good, as podman parses its flags before it looks at its
  // storage: a create refused for its input makes no state directory on a host that had none
  if (findExact(ctx.state(), id)) throw new UsageError(`container "${id}" already exists`);
  const p: CreatePlan = { id, name, mode, networks, ports, exposed, publishAll: req.publishAll === true, netns, configures: spec.configures, etc: req.etc ?? {} };
  if (driver) {
    // Checked against a record that is never stored: nothing is made before every network passed.
    const rec = planned(p, null);
    for (const [i, attachment] of driver.attachments(rec).entries()) {
      const asked = staticMACOf(rec, attachment);
      await driver.validate({ attachment, ports: publishedOn(rec, i), aliases: attachment.aliases, ips: staticsOf(rec, attachment), ...(asked !== undefined ? { mac: asked } : {}) });
    }
  }
  return p;
}

function planned(p: CreatePlan, netns: { path: string; owned: boolean } | null): ContainerRecord {
  return newContainerRecord({
    id: p.id,
    name: p.name,
    mode: p.mode,
    netns,
    networks: p.networks,
    // the first network's, also where older ctrnets kept them
    ...firstStatics(p.networks[0]),
    ports: p.ports,
    exposed: p.exposed,
    publishAll: p.publishAll,
    etc: p.etc,
  });
}

/** The first network's static addresses and MAC as a record's staticIP, staticIP6 and staticMAC (the first IPv4 address and the first IPv6 one, or the one address). */
function firstStatics(first: PlannedNetwork | undefined): { staticIP: string | null; staticIP6?: string; staticMAC: string | null } {
  const ips = first?.staticIPs ?? [];
  const v4 = ips.find((a) => !a.includes(":"));
  const v6 = ips.find((a) => a.includes(":"));
  const staticMAC = first?.staticMAC ?? null;
  if (v4 !== undefined && v6 !== undefined) return { staticIP: v4, staticIP6: v6, staticMAC };
  return { staticIP: v4 ?? v6 ?? null, staticMAC };
}

function recordedNetns(ctx: Context, source: NetnsRequest): { path: string; owned: boolean } {
  if (source.kind === "join") return { path: source.path, owned: false };
  if (source.kind === "adopt" && source.keep === "process") return { path: procNetnsPath(source.pid), owned: false };
  return { path: plannedNetnsPath(ctx.netnsDir), owned: true };
}

/** Claims the id, the host ports and the address in one transaction, so concurrent creates can't share them. */
function insertRecord(ctx: Context, p: CreatePlan): ContainerRecord {
  const state = ctx.state();
  const rec = planned(p, p.netns === null ? null : recordedNetns(ctx, p.netns));
  return state.transaction(() => {
    for (const { network, staticIPs } of p.networks) for (const ip of staticIPs ?? []) checkAddressFree(state.addressHolders(network, ip), network, ip);
    const ports = p.ports.length ? assignHostPorts(p.ports, (near) => state.publishedPorts(near)) : [];
    checkHostPortsFree(ports);
    // podman's info line, once a container: an SCTP host port is checked against the records only
    if (ports.some((m) => m.protocol === "sctp")) log.info("Port reservation for SCTP is not supported");
    return state.insert({ ...rec, ports });
  });
}

/** What the ledger keeps of a container's process (recordProcess): gc and inspect's State.Pid read it. */
export function adopted(pid: number, netnsPath: string): AdoptedProcess {
  const proc: AdoptedProcess = { pid, netnsInode: netnsInode(netnsPath) };
  const startTime = startTimeOf(pid);
  if (startTime !== undefined) proc.startTime = startTime;
  return proc;
}

/**
 * Makes or notes the container's netns; true when it made one with lo up already. A netns of its own that
 * ctrnet configures gets lo up, and for bridge networks IPv6 autoconf off as netavark's (manual IPv6
 * config only: a stray router advertisement adds no address), while it is made.
 */
function makeNetns(ctx: Context, rec: ContainerRecord, source: NetnsRequest, configures: boolean): boolean {
  if (source.kind === "join") {
    // The netns outlives the container; its process tells gc when the container is gone.
    if (source.watchPid !== undefined && startTimeOf(source.watchPid) !== undefined) recordProcess(ctx, rec.id, adopted(source.watchPid, source.path));
    return false;
  }
  if (!rec.netns) return false;
  const path = rec.netns.path;
  if (source.kind === "adopt" && source.keep === "process") {
    // Nothing to make: gc tells the process's end (and a reused pid) by the netns inode noted here.
    recordProcess(ctx, rec.id, adopted(source.pid, source.via ?? path));
    return false;
  }
  markNetns(ctx, path);
  const opts = { name: basename(path), dir: ctx.netnsDir };
  if (source.kind === "adopt") {
    adoptNetns(source.pid, opts);
    recordProcess(ctx, rec.id, adopted(source.pid, path));
    return false;
  }
  createNetns({ ...opts, loopbackUp: configures, ipv6AutoconfOff: configures && rec.mode.kind === "bridge" });
  return configures;
}

/** Where an adopted netns is reached while it is configured, when not where the record says. */
function viaPath(source: NetnsRequest | null): string | undefined {
  return source?.kind === "adopt" && source.keep === "process" ? source.via : undefined;
}

export interface CreateOptions {
  /**
   * The container's helper processes (slirp4netns, the port forwarder) die with this process, even by
   * SIGKILL, as `ctrnet run` needs; otherwise they run on until `ctrnet rm` or `ctrnet gc` stops them.
   */
  helpersDieWithProcess?: boolean;
  /**
   * Write the container's resolv.conf and hosts to its runtime directory (etc-files.ts etcFilesDir), for
   * whatever runs it to bind over /etc; `rm` removes them.
   */
  writeEtc?: boolean;
}

async function setUp(ctx: Context, p: CreatePlan, lock: HeldLock, opts: CreateOptions): Promise<ContainerRecord> {
  phase("create: planned, locked");
  const state = ctx.state();
  let rec: ContainerRecord;
  try {
    rec = insertRecord(ctx, p);
  } catch (err) {
    lock.discard();
    throw err;
  }
  try {
    phase("create: record inserted");
    const loopbackUp = p.netns ? makeNetns(ctx, rec, p.netns, p.configures) : false;
    phase("create: netns made");
    // Where the netns is reached while it is configured: for the most part where the record says.
    const netnsPath = viaPath(p.netns) ?? rec.netns?.path;
    let dnsSynced: Promise<void> | undefined;
    if (netnsPath !== undefined && p.configures) {
      if (!loopbackUp) bringLoopbackUp(netnsPath);
      const served = await prestartDns(ctx, rec.networks.map((n) => n.network));
      phase("create: loopback up, DNS prestarted");
      rec = await setUpNetworks(ctx, rec, netnsPath, { tied: opts.helpersDieWithProcess ?? false });
      phase("create: networks set up");
      // The server's reload (or start) runs beside the files and the record below (none of which it reads),
      // and is waited for before the create returns: a name resolves as soon as the container starts. Its
      // failure is this create's, whenever it comes; the handler only keeps it from counting as unhandled
      // meanwhile.
      if (rec.networks.length) {
        dnsSynced = syncDns(ctx, { id: rec.id, ...(served ? { served } : {}), changed: rec.networks.map((n) => n.network) });
        dnsSynced.catch(() => {});
      }
    }
    if (opts.writeEtc) {
      const owner = netnsOwner(state, rec);
      writeEtcFiles(ctx, rec.id, (await etcFilesOf(ctx, owner, etcOptionsOf(owner, rec, p.etc))).files, wantedEtcFiles(p.etc));
    }
    phase("create: etc files written");
    const ready = state.setState(rec.id, "ready");
    phase("create: record ready");
    await dnsSynced;
    phase("create: DNS synced");
    // Helpers that outlive this command are restarted by the supervisor if they die.
    // Root: ports DNATed to it are held by the supervisor too, as podman's conmon holds them (run holds its own).
    if (!opts.helpersDieWithProcess) {
      const driver = ready.ports.length ? driverFor(ready.mode, ctx) : undefined;
      await superviseHelpers(ctx, rec.id, { holdPorts: driver !== undefined && !driver.listensOnHostPorts, ports: ready.ports });
      phase("create: helpers supervised");
    } else if (ready.networks.length) {
      // run: the container's own helpers die with its process, but the DNS server is every container's
      // and outlives it, so a kill -9 of it is repaired for run's containers too (the supervisor goes
      // once nothing needs it, the server gone with the last container it served)
      await superviseDnsServer(ctx);
    }
    return ready;
  } catch (err) {
    // a plugin that is not installed made nothing for its DEL to undo (its ADD failed the same way)
    const undo = (await teardownContainer(ctx, state.find(p.id) ?? rec, { force: true, netnsPath: viaPath(p.netns) })).filter(
      (e) => !(e instanceof PluginNotFoundError),
    );
    if (undo.length) throw ErrorList.undoing(err, undo);
    state.remove(p.id);
    lock.discard();
    throw err;
  }
}

export async function createContainer(ctx: Context, req: CreateRequest, opts: CreateOptions = {}): Promise<ContainerRecord> {
  phase("create: context open");
  const p = await plan(ctx, req);
  return withContainerLock(ctx, p.id, (lock) => setUp(ctx, p, lock, opts));
}

/** The signals that would end ctrnet half-way through a create, leaving its work behind. */
const SETUP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * createContainer for a command that must not die half-way (`ctrnet create`): SIGINT, SIGTERM and SIGHUP
 * during the set-up let the running step finish (CNI plugins run in sessions of their own), then
 * everything made is removed, and the signal is returned instead of the record, for an exit status of
 * 128 + its number. Without a signal, the record.
 */
export async function createContainerUninterrupted(ctx: Context, req: CreateRequest, opts: CreateOptions = {}): Promise<ContainerRecord | NodeJS.Signals> {
  let cancelled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    cancelled ??= signal;
  };
  for (const s of SETUP_SIGNALS) process.on(s, onSignal);
  try {
    let rec: ContainerRecord;
    try {
      rec = await createContainer(ctx, req, opts);
    } catch (err) {
      // a failure after a signal is taken as its echo: the undo has run either way
      if (cancelled !== undefined && exitCodeOf(err) !== 2) return cancelled;
      throw err;
    }
    if (cancelled === undefined) return rec;
    await removeContainer(ctx, rec.id, { force: true });
    return cancelled;
  } finally {
    for (const s of SETUP_SIGNALS) process.off(s, onSignal);
  }
}
