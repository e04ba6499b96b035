// The /etc/resolv.conf and /etc/hosts a container sees, generated from the host's files and what its
// networks give it. The generators are pure; readHostEtc reads the host's two files.
import { readFileSync } from "../../ffi/fs.ts";
import { join } from "node:path";
import { parseIP } from "../ip/codec.ts";

/** What one network tells a container about name resolution (a CNI result's `dns`). */
export interface NetworkDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** The resolver reads only these keywords; `domain` is an old form of a one-entry `search`, and the last one wins. */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split("\n")) {
    const [keyword, ...values] = raw.replace(/[#;].*/, "").trim().split(/\s+/);
    if (keyword === "nameserver" && values[0]) conf.nameservers.push(values[0]);
    else if (keyword === "search" || keyword === "domain") conf.search = values.filter(Boolean);
    else if (keyword === "options") conf.options.push(...values.filter(Boolean));
  }
  return conf;
}

export function formatResolvConf(conf: ResolvConf): string {
  // podman's layout (containers/common resolvconf's build): search first, then the nameservers, then options
  const lines = conf.search.length ? [`search ${conf.search.join(" ")}`] : [];
  lines.push(...conf.nameservers.map((ns) => `nameserver ${ns}`));
  if (conf.options.length) lines.push(`options ${conf.options.join(" ")}`);
  return lines.map((l) => `${l}\n`).join("");
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x: each netns has its own loopback, so the host's is out of reach. */
export function isLoopback(address: string): boolean {
  const bytes = parseIP(address);
  if (bytes === null) return false;
  if (bytes.length === 4) return bytes[0] === 127;
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes[12] === 127;
  return bytes.subarray(0, 15).every((b) => b === 0) && bytes[15] === 1;
}

/** systemd-resolved's stub listener; its real upstream servers are in SYSTEMD_RESOLV_CONF. */
const RESOLVED_STUB = "127.0.0.53";
export const SYSTEMD_RESOLV_CONF = "/run/systemd/resolve/resolv.conf";

/**
 * As podman: a host whose resolv.conf points at systemd-resolved's stub gets the servers resolved itself
 * uses, when that file exists (`systemd` undefined when it does not).
 */
export function pickHostResolvConf(etc: string, systemd: string | undefined): ResolvConf {
  const conf = parseResolvConf(etc);
  if (systemd !== undefined && conf.nameservers.includes(RESOLVED_STUB)) return parseResolvConf(systemd);
  return conf;
}

/** What podman falls back to when the host leaves a container no nameserver it can reach. */
export const FALLBACK_NAMESERVERS: readonly string[] = ["8.8.8.8", "8.8.4.4"];

/** Where a container's network leads; see ContainerResolvConfInput.reach. */
export type Reach = "shared" | "isolated" | "none";

export interface ContainerResolvConfInput {
  /** The host's resolver configuration (see pickHostResolvConf). */
  host: ResolvConf;
  /** The DNS settings each attached network gives, in attachment order. */
  networks: readonly NetworkDns[];
  /**
   * `shared`: the container uses the host's network namespace, so the host's file works as it is.
   * `isolated`: a netns of its own with a way out (bridge, slirp4netns). `none`: only loopback, nothing
   * outside is reachable, so no fallback servers are added either: lookups then fail at once instead of
   * waiting for timeouts.
   */
  reach: Reach;
  /** The container has an IPv6 address beyond link-local; without one IPv6 servers only add timeouts. */
  ipv6: boolean;
  /** Nameservers that replace all others, e.g. slirp4netns's built-in DNS at cidr + 3. */
  nameservers?: readonly string[];
  /**
   * Nameservers put before the others: for a rootless bridge container, the rootless netns's slirp DNS,
   * which forwards to the host's own resolver even when that listens on the host's loopback (podman 3).
   */
  preferred?: readonly string[];
  /**
   * ctrnet's own DNS server on the container's networks (their gateways): it answers container names and
   * forwards the rest, so, as podman with aardvark-dns, it is the only nameserver, and its search domain
   * comes first.
   */
  dnsServers?: readonly string[];
  /** podman's network `--dns` of networks without ctrnet's DNS server: named instead of the host's nameservers. */
  networkDnsServers?: readonly string[];
  /**
   * The networks' nameservers are a user-mode stack's DNS forwarder (slirp4netns's, pasta's): the host's
   * reachable ones follow them, as podman's addSpecialDNS with KeepHostServers writes them.
   */
  keepHostServers?: boolean;
  /** The search domain of dnsServers. */
  dnsDomain?: string;
  /** `--dns-search`: replaces every search domain (`.` alone: none). */
  search?: readonly string[];
  /** `--dns-option`: replaces the others, as podman's. */
  options?: readonly string[];
}

export interface ContainerResolvConf {
  conf: ResolvConf;
  /** No reachable nameserver was left, so FALLBACK_NAMESERVERS were used. */
  fellBack: boolean;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** A server the container can send queries to: no host loopback, no zone of a host interface, its family present. */
function reachable(address: string, ipv6: boolean): boolean {
  if (address.includes("%") || isLoopback(address)) return false;
  return ipv6 || !address.includes(":");
}

/**
 * Nameservers, in order of preference: ctrnet's DNS server on its networks (which forwards the container's
 * other names to its override); the override; the networks' own (a DNS plugin such as dnsname
 * answers for the containers on its network); the host's, minus those out of reach. Search domains: the
 * networks' first, then the host's. Options: the host's.
 */
export function containerResolvConf(input: ContainerResolvConfInput): ContainerResolvConf {
  const { host, networks } = input;
  // As podman with netavark: a container on DNS networks names their servers, which forward its other
  // names to its own --dns (libpod's addResolvConf); --dns is written only where no DNS server serves it.
  const served = input.reach !== "shared" && (input.dnsServers?.length ?? 0) > 0;
  const search = input.search?.length
    ? input.search.filter((s) => s !== ".")
    : unique([
        ...(served && input.dnsDomain ? [input.dnsDomain] : []),
        ...networks.flatMap((dns) => [...(dns.domain ? [dns.domain] : []), ...(dns.search ?? [])]),
        ...host.search,
      ]);
  // podman's (resolvconf.New without KeepHostOptions): --dns-option replaces the host's options
  const options = input.options?.length ? unique(input.options) : unique([...networks.flatMap((dns) => dns.options ?? []), ...host.options]);
  const fromNetworks = networks.flatMap((dns) => dns.nameservers ?? []);
  let nameservers: string[];
  if (served) nameservers = input.dnsServers!.filter((ns) => input.ipv6 || !ns.includes(":"));
  else if (input.nameservers?.length) nameservers = [...input.nameservers];
  else if (input.reach === "shared") nameservers = host.nameservers;
  else if (input.networkDnsServers?.length) nameservers = [...input.networkDnsServers, ...fromNetworks];
  else if (fromNetworks.length && !input.keepHostServers) nameservers = fromNetworks;
  else nameservers = [...fromNetworks, ...host.nameservers.filter((ns) => reachable(ns, input.ipv6))];
  if (!input.nameservers?.length && !served && !input.networkDnsServers?.length) nameservers = [...(input.preferred ?? []), ...nameservers];
  nameservers = unique(nameservers);
  const fellBack = nameservers.length === 0 && input.reach === "isolated";
  return { conf: { nameservers: fellBack ? [...FALLBACK_NAMESERVERS] : nameservers, search, options }, fellBack };
}

/** The names a line of /etc/hosts gives its address; comments and blank lines give none. */
function hostsEntry(line: string): { address: string; names: string[] } | undefined {
  const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/);
  if (!address || names.length === 0) return undefined;
  return { address, names };
}

const LOCALHOST_NAME = /^(?:localhost(?:\..*|[46])?|ip6-localhost|ip6-loopback)$/;
/** podman's (containers/common etchosts) localhost entries, written when no line before names localhost. */
const PODMAN_LOCALHOST_ENTRIES = [
  { address: "127.0.0.1", names: ["localhost"] },
  { address: "::1", names: ["localhost"] },
];

export interface ContainerHostsInput {
  /** The host's /etc/hosts. Only its localhost lines are kept: its other names mean the host, not the container. */
  host: string;
  /** A base file whose every entry comes first instead of the host's localhost lines (podman's --hosts-file, else containers.conf base_hosts_file); "" for none. */
  base?: string;
  /** The container's own addresses, without prefix length. */
  addresses: readonly string[];
  /** The names the container answers to, e.g. its name and its short id. */
  names: readonly string[];
  /** An address of the host the container reaches, published as host.containers.internal (see etc-files.ts). */
  gateway?: string;
  /** `--add-host` lines, after the container's own. */
  extraHosts?: readonly { name: string; address: string }[];
}

export const HOST_GATEWAY_NAME = "host.containers.internal";
/** podman 5 names the host's address host.docker.internal too, on the same line. */
const HOST_GATEWAY_NAMES = [HOST_GATEWAY_NAME, "host.docker.internal"];

/**
 * A hosts file as containerHosts wrote it, after the container's addresses changed from `before` to
 * `after` (connect, disconnect), as podman edits a running container's /etc/hosts: the lines of the
 * addresses it lost go, those of its new ones come where the first own line was (at the end when it had
 * none, as podman's etchosts.Add appends), with the names of its own lines (`names` when none is left to copy them
 * from). Every other line (--add-host, host.containers.internal, the user's) stays as it is.
 */
export function replaceOwnHostsEntries(hosts: string, before: readonly string[], after: readonly string[], names: readonly string[]): string {
  const lines = hosts.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const own = (line: string) => {
    const entry = hostsEntry(line);
    return entry !== undefined && before.includes(entry.address) ? entry : undefined;
  };
  const first = lines.findIndex((line) => own(line) !== undefined);
  const ownNames = first >= 0 ? own(lines[first]!)!.names.join(" ") : unique(names).join(" ");
  const kept = lines.filter((line) => own(line) === undefined);
  const at = first >= 0 ? lines.slice(0, first).filter((line) => own(line) === undefined).length : kept.length;
  kept.splice(at, 0, ...unique(after).map((address) => `${address}\t${ownNames}`));
  return kept.map((l) => `${l}\n`).join("");
}

/**
 * podman's (containers/common etchosts newHost) layout: the --add-host lines, the base file's (the host's
 * localhost lines; ctrnet has no image), then 127.0.0.1 and ::1 localhost, the host's address as
 * host.containers.internal and host.docker.internal, and the container's addresses. Each of the last four
 * carries only the names no line before it has, and is left out when none is left (a --hostname or
 * --add-host of the same name wins, as podman's).
 */
export function containerHosts(input: ContainerHostsInput): string {
  const localhost =
    input.base !== undefined
      ? input.base.split("\n").flatMap((line) => {
          const entry = hostsEntry(line);
          return entry ? [`${entry.address}\t${entry.names.join(" ")}`] : [];
        })
      : input.host.split("\n").filter((line) => {
          const entry = hostsEntry(line);
          return entry !== undefined && isLoopback(entry.address) && entry.names.some((n) => LOCALHOST_NAME.test(n));
        });
  const lines = [...(input.extraHosts ?? []).map((h) => `${h.address}\t${h.name}`), ...localhost.map((l) => l.trim())];
  const taken = new Set(lines.flatMap((line) => hostsEntry(line)?.names ?? []));
  const names = unique(input.names);
  const generated = [
    ...PODMAN_LOCALHOST_ENTRIES,
    ...(input.gateway ? [{ address: input.gateway, names: HOST_GATEWAY_NAMES }] : []),
    ...unique(input.addresses).map((address) => ({ address, names })),
  ];
  // podman's addEntriesIfNotExists: the names are those of the lines above, not of each other's
  const free = generated.map((entry) => ({ address: entry.address, names: entry.names.filter((n) => !taken.has(n)) }));
  lines.push(...free.filter((entry) => entry.names.length > 0).map((entry) => `${entry.address}\t${entry.names.join(" ")}`));
  return lines.map((l) => `${l}\n`).join("");
}

export interface HostEtc {
  resolvConf: ResolvConf;
  hosts: string;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The host's resolver configuration and hosts file; a missing file is read as empty. */
export function readHostEtc(etcDir = "/etc"): HostEtc {
  return {
    resolvConf: pickHostResolvConf(readIfExists(join(etcDir, "resolv.conf")) ?? "", readIfExists(SYSTEMD_RESOLV_CONF)),
    hosts: readIfExists(join(etcDir, "hosts")) ?? "",
  };
}
