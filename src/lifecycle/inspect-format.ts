// podman's InspectNetworkSettings from a record and its networks' statuses: getContainerNetworkInfo and
// resultToBasicNetworkConfig. Pure, so the JSON can be checked against golden files.
import type { ExposedPort, PortMapping } from "../schema/ports.ts";
import type { ContainerRecord, RecordState } from "../state/index.ts";
import { networkAliases } from "../container/aliases.ts";
import { SHORT_ID_LENGTH } from "../container/dns-members.ts";
import type { NetworkStatus } from "../schema/network-status.ts";
import { formatNetworkMode } from "./mode.ts";
import { ipFamily } from "../ip/codec.ts";
import { networkId } from "../drivers/cni/config.ts";

/** podman's define.Address, of SecondaryIPAddresses and SecondaryIPv6Addresses. */
export interface InspectAddress {
  Addr: string;
  PrefixLength: number;
}

export interface InspectBasicNetworkConfig {
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  SecondaryIPAddresses?: InspectAddress[];
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  SecondaryIPv6Addresses?: InspectAddress[];
  MacAddress: string;
  AdditionalMACAddresses?: string[];
}

export interface InspectAdditionalNetwork extends InspectBasicNetworkConfig {
  NetworkID: string;
  DriverOpts: Record<string, string> | null;
  IPAMConfig: Record<string, string> | null;
  Links: string[] | null;
  Aliases?: string[];
}

export interface InspectHostPort {
  HostIp: string;
  HostPort: string;
}

export interface InspectNetworkSettings extends InspectBasicNetworkConfig {
  Bridge: string;
  SandboxID: string;
  HairpinMode: boolean;
  LinkLocalIPv6Address: string;
  LinkLocalIPv6PrefixLen: number;
  Ports: Record<string, InspectHostPort[] | null>;
  SandboxKey: string;
  Networks?: Record<string, InspectAdditionalNetwork>;
}

/** One helper process of the container (ctrnet's own field; podman has none). */
export interface InspectHelper {
  Pid: number;
  Running: boolean;
  /** How often it was started again after it died (by the supervisor) or by `reload`. */
  Restarts: number;
  /** When it last was, RFC 3339. */
  LastRestart?: string;
  /** Why the last attempt to start it again failed. */
  RestartError?: string;
}

/** The helpers of the container owning the netns, and the one that is gone if any (inspect.ts finds them). */
export interface InspectHealth {
  helpers: Record<string, InspectHelper>;
  /** Set while a helper is gone: the container is `degraded` until it runs again. */
  degraded?: string;
}

export interface InspectResult {
  Id: string;
  Name: string;
  Created: string;
  /** The record's state, or `degraded` while a helper of a ready container is gone. */
  State: RecordState | "degraded";
  /** Which helper is gone, while the state is `degraded`. */
  Degraded?: string;
  /** The container's process, while it runs: the one whose netns it took (`--pid`) or an OCI hook's. */
  Pid?: number;
  NetworkMode: string;
  NetworkSettings: InspectNetworkSettings;
  /**
   * podman's Config, its network part: the container's hostname (podman's Hostname()); ExposedPorts, its
   * --expose ports and published ones ("80/tcp": {}), no key when none.
   */
  Config: { Hostname: string; ExposedPorts?: Record<string, Record<string, never>> };
  HostConfig: InspectHostConfig;
  /** slirp4netns, pasta and the port forwarder, when the container has them; the DNS server of its networks (dnsServer). */
  Helpers?: Record<string, InspectHelper>;
}

/**
 * podman's HostConfig, its network part: the /etc options given (--dns, --dns-option, --dns-search,
 * --add-host as NAME:IP, each [] when none), the mode without its options (as podman's NetMode), the
 * published ports, and whether -P was given.
 */
export interface InspectHostConfig {
  Dns: string[];
  DnsOptions: string[];
  DnsSearch: string[];
  ExtraHosts: string[];
  NetworkMode: string;
  PortBindings: Record<string, InspectHostPort[] | null>;
  PublishAllPorts: boolean;
}

function emptyBasic(): InspectBasicNetworkConfig {
  return {
    EndpointID: "",
    Gateway: "",
    IPAddress: "",
    IPPrefixLen: 0,
    IPv6Gateway: "",
    GlobalIPv6Address: "",
    GlobalIPv6PrefixLen: 0,
    MacAddress: "",
  };
}

/**
 * podman's resultToBasicNetworkConfig: the interfaces by name; the first IPv4 and the first IPv6 address
 * with their gateways, the others as secondary ({Addr, PrefixLength}); the first interface's MAC, each
 * other interface's among AdditionalMACAddresses. (The seed put an IPv6 address among the secondary ones
 * once an IPv4 one had been seen, and printed a missing gateway as "<nil>".)
 */
export function statusToBasicNetworkConfig(status: NetworkStatus): InspectBasicNetworkConfig {
  const config = emptyBasic();
  const interfaces = [...status.interfaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const { mac, addresses } of interfaces) {
    for (const ip of addresses) {
      const [address = "", prefix = "0"] = ip.address.split("/");
      if (ipFamily(address) === 4) {
        if (config.IPAddress === "") {
          config.IPAddress = address;
          config.IPPrefixLen = Number(prefix);
          config.Gateway = ip.gateway ?? "";
        } else {
          (config.SecondaryIPAddresses ??= []).push({ Addr: address, PrefixLength: Number(prefix) });
        }
      } else if (config.GlobalIPv6Address === "") {
        config.GlobalIPv6Address = address;
        config.GlobalIPv6PrefixLen = Number(prefix);
        config.IPv6Gateway = ip.gateway ?? "";
      } else {
        (config.SecondaryIPv6Addresses ??= []).push({ Addr: address, PrefixLength: Number(prefix) });
      }
    }
    if (config.MacAddress === "") config.MacAddress = mac ?? "";
    else (config.AdditionalMACAddresses ??= []).push(mac ?? "");
  }
  return config;
}

/**
 * podman's makeInspectPortBindings: one entry per container port, ranges spelled out, no host IP as
 * 0.0.0.0 (HostConfig.PortBindings, and NetworkSettings.Ports before addInspectPortsExpose).
 */
export function inspectPorts(ports: readonly PortMapping[]): Record<string, InspectHostPort[] | null> {
  const out: Record<string, InspectHostPort[] | null> = {};
  for (const m of ports) {
    for (let i = 0; i < m.range; i++) {
      (out[`${m.containerPort + i}/${m.protocol}`] ??= []).push({ HostIp: m.hostIP === "" ? "0.0.0.0" : m.hostIP, HostPort: String(m.hostPort + i) });
    }
  }
  return out;
}

/**
 * podman's Config.ExposedPorts: every exposed port and every published one's container port, of the
 * container's own configuration (not another's whose netns it shares).
 */
function exposedPorts(exposed: readonly ExposedPort[], ports: readonly PortMapping[]): Record<string, Record<string, never>> {
  const out: Record<string, Record<string, never>> = {};
  for (const e of [...exposed, ...ports]) for (let i = 0; i < e.range; i++) out[`${e.containerPort + i}/${e.protocol}`] = {};
  return out;
}

/**
 * podman's addInspectPortsExpose: NetworkSettings.Ports also names each exposed port nothing publishes,
 * with null, except in the host's netns or another container's.
 */
function withExposedPorts(settings: InspectNetworkSettings, rec: ContainerRecord): InspectNetworkSettings {
  if (rec.mode.kind === "host" || rec.mode.kind === "container") return settings;
  for (const e of rec.exposed ?? []) for (let i = 0; i < e.range; i++) settings.Ports[`${e.containerPort + i}/${e.protocol}`] ??= null;
  return settings;
}

/** What inspect knows beyond the record (inspect.ts finds it). */
export interface InspectView {
  /**
   * The status of a network the record does not list: one its driver knows from its options
   * (slirp4netns's tap; podman 2 and 3 leave those empty, ctrnet shows them, as certain as a CNI result's),
   * or what a netns ctrnet joined without configuring holds, read from it as podman reads it.
   */
  status?: NetworkStatus;
  /** host and none: a network of their own name, as podman (4.4 and later) shows them. */
  named?: string;
}

function namedNetwork(name: string, basic: InspectBasicNetworkConfig = emptyBasic()): InspectAdditionalNetwork {
  return { ...basic, NetworkID: name, DriverOpts: null, IPAMConfig: null, Links: null };
}

/**
 * NetworkSettings of the container owning the netns. Networks are listed by name, as podman's status;
 * the top-level addresses are those of the first connected network, the one the ports belong to.
 */
export function networkSettings(owner: ContainerRecord, view: InspectView = {}): InspectNetworkSettings {
  const settings: InspectNetworkSettings = {
    ...emptyBasic(),
    Bridge: "",
    SandboxID: "",
    HairpinMode: false,
    LinkLocalIPv6Address: "",
    LinkLocalIPv6PrefixLen: 0,
    Ports: inspectPorts(owner.ports),
    SandboxKey: owner.netns?.path ?? "",
  };
  if (view.named !== undefined) {
    // slirp4netns and pasta: their addresses at the top level and under the mode's name
    const basic = view.status ? statusToBasicNetworkConfig(view.status) : emptyBasic();
    return { ...settings, ...(view.status ? basic : {}), Networks: { [view.named]: namedNetwork(view.named, basic) } };
  }
  if (owner.networks.length === 0) return view.status ? { ...settings, ...statusToBasicNetworkConfig(view.status) } : settings;
  const networks: Record<string, InspectAdditionalNetwork> = {};
  for (const attachment of [...owner.networks].sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0))) {
    networks[attachment.network] = {
      ...(attachment.status ? statusToBasicNetworkConfig(attachment.status) : emptyBasic()),
      // podman's NetworkID is the network's id (the sha256 of its name, as `network inspect` shows it)
      NetworkID: networkId(attachment.network),
      DriverOpts: null,
      IPAMConfig: null,
      Links: null,
      Aliases: networkAliases(owner, attachment),
    };
  }
  settings.Networks = networks;
  const primary = owner.networks[0]!.status;
  return primary ? { ...settings, ...statusToBasicNetworkConfig(primary) } : settings;
}

/** podman's HostConfig.NetworkMode: "bridge" for networks, slirp4netns and pasta without their options. */
function hostConfigNetworkMode(mode: ContainerRecord["mode"]): string {
  return mode.kind === "slirp4netns" || mode.kind === "pasta" ? mode.kind : formatNetworkMode(mode);
}

/**
 * podman's Hostname(): --hostname; in the host's uts namespace (the host's network without --hostname, as
 * podman's default there) the host's; else the short id.
 */
function containerHostname(rec: ContainerRecord, hostHostname: string): string {
  return rec.etc?.hostname ?? (rec.mode.kind === "host" ? hostHostname : rec.id.slice(0, SHORT_ID_LENGTH));
}

function hostConfig(rec: ContainerRecord): InspectHostConfig {
  const etc = rec.etc ?? {};
  return {
    Dns: [...(etc.dns ?? [])],
    DnsOptions: [...(etc.dnsOptions ?? [])],
    DnsSearch: [...(etc.dnsSearch ?? [])],
    // podman keeps --add-host as given: podman 5's NAME1;NAME2:IP for one line of several names
    ExtraHosts: (etc.addHosts ?? []).map((h) => `${h.name.split(" ").join(";")}:${h.address}`),
    NetworkMode: hostConfigNetworkMode(rec.mode),
    PortBindings: inspectPorts(rec.ports),
    PublishAllPorts: rec.publishAll === true,
  };
}

/** hostHostname: the host's hostname, the container's in the host's uts namespace. */
export function inspectResult(rec: ContainerRecord, owner: ContainerRecord, view: InspectView = {}, health?: InspectHealth, hostHostname = "", pid?: number): InspectResult {
  const degraded = rec.state === "ready" ? health?.degraded : undefined;
  return {
    Id: rec.id,
    Name: rec.name ?? "",
    Created: new Date(rec.createdAt).toISOString(),
    State: degraded === undefined ? rec.state : "degraded",
    ...(degraded === undefined ? {} : { Degraded: degraded }),
    ...(pid === undefined ? {} : { Pid: pid }),
    NetworkMode: formatNetworkMode(rec.mode),
    NetworkSettings: withExposedPorts(networkSettings(owner, view), rec),
    Config: { Hostname: containerHostname(rec, hostHostname), ...(rec.exposed?.length || rec.ports.length ? { ExposedPorts: exposedPorts(rec.exposed ?? [], rec.ports) } : {}) },
    HostConfig: hostConfig(rec),
    ...(health && Object.keys(health.helpers).length ? { Helpers: health.helpers } : {}),
  };
}
