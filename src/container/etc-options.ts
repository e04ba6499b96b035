// The options that shape a container's /etc/resolv.conf and /etc/hosts, as podman's run/create take them:
// --dns (`none`: no resolv.conf of ctrnet's), --dns-search, --dns-option, --add-host NAME:IP, --hostname,
// --no-hosts. Checked here, in full, before anything is made (a bad value is a UsageError: exit 2).
import { UsageError } from "../errors.ts";
import { formatIP, parseIP } from "../ip/codec.ts";

export interface EtcOptions {
  /** Nameservers that replace every other (`--dns`). */
  dns?: string[];
  /** Search domains that replace every other (`--dns-search`); `.` alone: none at all. */
  dnsSearch?: string[];
  /** resolv.conf options added to the host's (`--dns-option`). */
  dnsOptions?: string[];
  /** Extra /etc/hosts lines (`--add-host NAME:IP`), in order. */
  addHosts?: { name: string; address: string }[];
  /** The name /etc/hosts gives the container's addresses, first, before its name and short id. */
  hostname?: string;
  /** Leave /etc/hosts alone (`--no-hosts`). */
  noHosts?: boolean;
  /**
   * Leave /etc/resolv.conf alone (`--dns none`, podman's UseImageResolvConf): the image's for a runtime, the
   * host's for `run`. No other DNS option goes with it.
   */
  noResolvConf?: boolean;
}

/** `--dns none`: the container keeps the resolv.conf it has. */
export const DNS_NONE = "none";

/** `--add-host NAME:host-gateway` is the address host.containers.internal gets, as podman's. */
export const HOST_GATEWAY_VALUE = "host-gateway";

const HOSTNAME_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

export function validateHostname(name: string): string {
  if (name.length === 0 || name.length > 253 || !name.split(".").every((label) => HOSTNAME_LABEL.test(label))) {
    throw new UsageError(`invalid hostname "${name}": expected labels of letters, digits and inner hyphens, joined by dots`);
  }
  return name;
}

function validateDnsServer(value: string): string {
  const ip = parseIP(value);
  if (ip === null) throw new UsageError(`invalid --dns "${value}": expected an IP address`);
  return formatIP(ip);
}

function validateSearch(value: string): string {
  if (value === ".") return value;
  try {
    return validateHostname(value.replace(/\.$/, ""));
  } catch {
    throw new UsageError(`invalid --dns-search "${value}": expected a domain name (or . for none)`);
  }
}

function validateOption(value: string): string {
  if (!/^[a-z][a-z0-9-]*(?::[0-9]+)?$/i.test(value)) throw new UsageError(`invalid --dns-option "${value}": expected an option such as ndots:2 or edns0`);
  return value;
}

/** NAME:IP, the IP possibly IPv6 (split at the first colon), or NAME:host-gateway; podman's NAME=IP too. */
export function parseAddHost(value: string): { name: string; address: string } {
  const at = value.search(/[:=]/);
  const bad = (why: string) => new UsageError(`invalid --add-host "${value}": ${why}`);
  if (at <= 0) throw bad("expected NAME:IP");
  const name = value.slice(0, at);
  const address = value.slice(at + 1);
  try {
    validateHostname(name);
  } catch {
    throw bad(`"${name}" is not a host name`);
  }
  if (address === HOST_GATEWAY_VALUE) return { name, address };
  const ip = parseIP(address.replace(/^\[(.*)\]$/, "$1"));
  if (ip === null) throw bad(`"${address}" is not an IP address`);
  return { name, address: formatIP(ip) };
}

export interface RawEtcOptions {
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOptions?: readonly string[];
  addHosts?: readonly string[];
  hostname?: string;
  noHosts?: boolean;
}

/** Every value checked; only what was given is set. */
export function parseEtcOptions(raw: RawEtcOptions): EtcOptions {
  const out: EtcOptions = {};
  if (raw.dns?.includes(DNS_NONE)) {
    if (raw.dns.length > 1) throw new UsageError(`--dns ${DNS_NONE} (keep the container's resolv.conf) cannot be given with nameservers`);
    out.noResolvConf = true;
  } else if (raw.dns?.length) out.dns = raw.dns.map(validateDnsServer);
  if (raw.dnsSearch?.length) {
    out.dnsSearch = raw.dnsSearch.map(validateSearch);
    if (out.dnsSearch.includes(".") && out.dnsSearch.length > 1) throw new UsageError(`--dns-search . (no search domain) cannot be given with other domains`);
  }
  if (raw.dnsOptions?.length) out.dnsOptions = raw.dnsOptions.map(validateOption);
  if (raw.addHosts?.length) out.addHosts = raw.addHosts.map(parseAddHost);
  if (raw.hostname !== undefined) out.hostname = validateHostname(raw.hostname);
  if (raw.noHosts) out.noHosts = true;
  checkEtcOptions(out);
  return out;
}

/** The options that cannot go together (also once a hook's arguments and annotations are merged). */
export function checkEtcOptions(opts: EtcOptions): void {
  if (opts.noHosts && opts.addHosts?.length) throw new UsageError("--no-hosts and --add-host cannot be set together");
  if (opts.noResolvConf && (opts.dnsSearch?.length || opts.dnsOptions?.length || opts.dns?.length)) {
    throw new UsageError(`--dns ${DNS_NONE} (keep the container's resolv.conf) cannot be given with --dns-search or --dns-option`);
  }
}

export function hasEtcOptions(opts: EtcOptions): boolean {
  return Object.keys(opts).length > 0;
}

/**
 * podman's containers.conf `dns_servers`, `dns_searches` and `dns_options`, from CTRNET_DNS_SERVERS,
 * CTRNET_DNS_SEARCHES and CTRNET_DNS_OPTIONS (comma-separated): every container's, before its own --dns,
 * --dns-search and --dns-option (checked as those are).
 */
export function configuredResolvOptions(env: Readonly<Record<string, string | undefined>> = process.env): { dns: string[]; dnsSearch: string[]; dnsOptions: string[] } {
  const list = (name: string) => (env[name] ?? "").split(",").map((v) => v.trim()).filter(Boolean);
  return { dns: list("CTRNET_DNS_SERVERS"), dnsSearch: list("CTRNET_DNS_SEARCHES"), dnsOptions: list("CTRNET_DNS_OPTIONS") };
}
