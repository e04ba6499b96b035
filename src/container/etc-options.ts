// The options that shape a container's /etc/resolv.conf and /etc/hosts, as podman's run/create take them:
// --dns (`none`: no resolv.conf of ctrnet's), --dns-search, --dns-option, --add-host NAME:IP, --hostname,
// --no-hosts. Checked here, in full, before anything is made (a bad value is a UsageError: exit 2).
import { readFileSync } from "../../ffi/fs.ts";
import { resolve } from "node:path";
import { errorMessage, UsageError } from "../errors.ts";
import { formatIP, parseIP } from "../ip/codec.ts";

export interface EtcOptions {
  /** Nameservers that replace every other (`--dns`). */
  dns?: string[];
  /** Search domains that replace every other (`--dns-search`); `.` alone: none at all. */
  dnsSearch?: string[];
  /** resolv.conf options that replace the host's (`--dns-option`), as podman's. */
  dnsOptions?: string[];
  /** Extra /etc/hosts lines (`--add-host NAME:IP`), in order. */
  addHosts?: { name: string; address: string }[];
  /** The name /etc/hosts gives the container's addresses, first, before its name and short id. */
  hostname?: string;
  /** Leave /etc/hosts alone (`--no-hosts`). */
  noHosts?: boolean;
  /**
   * podman's `--hosts-file`: the base of /etc/hosts, every line of this file (an absolute path), or `none`
   * for no base; without it, the host's localhost lines.
   */
  hostsFile?: string;
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

const DOMAIN_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;

function validateDomain(name: string): string {
  if (name.length === 0 || name.length > 253 || !name.split(".").every((label) => DOMAIN_LABEL.test(label))) throw new UsageError(`invalid domain "${name}"`);
  return name;
}

/** The kernel's HOST_NAME_MAX: sethostname takes no more. */
const HOSTNAME_MAX = 64;

/**
 * A container's hostname: as loose as podman's (which checks none: `hosts_test.dev`), within what the kernel
 * takes and what a name in ctrnet's DNS configuration may be (it is an alias there).
 */
export function validateHostname(name: string): string {
  if (name.length > HOSTNAME_MAX || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
    throw new UsageError(`invalid hostname "${name}": expected up to ${HOSTNAME_MAX} letters, digits, _ . or -, the first a letter or digit`);
  }
  return name;
}

function validateDnsServer(value: string): string {
  const ip = parseIP(value);
  // podman's words after ctrnet's (podman's ParseDNS)
  if (ip === null) throw new UsageError(`invalid --dns "${value}": ${value} is not an ip address`);
  return formatIP(ip);
}

function validateSearch(value: string): string {
  if (value === ".") return value;
  try {
    return validateDomain(value.replace(/\.$/, ""));
  } catch {
    throw new UsageError(`invalid --dns-search "${value}": expected a domain name (or . for none)`);
  }
}

/** As podman's, any word: resolv.conf's `options` line only cannot take a blank or a control character in one. */
function validateOption(value: string): string {
  if (!/^[^\s\u0000-\u001f\u007f]+$/.test(value)) throw new UsageError(`invalid --dns-option "${value}": expected an option such as ndots:2 or edns0`);
  return value;
}

/**
 * NAME:IP, the IP possibly IPv6 (split at the first colon), or NAME:host-gateway; podman 5's NAME1;NAME2:IP
 * (one line, several names), and NAME=IP. As podman's, a name is any word (it checks only that none is empty).
 */
export function parseAddHost(value: string): { name: string; address: string } {
  const at = value.search(/[:=]/);
  const bad = (why: string) => new UsageError(`invalid --add-host "${value}": ${why}`);
  if (at <= 0) throw bad(`bad format for add-host: ${JSON.stringify(value)} (expected NAME:IP)`);
  const names = value.slice(0, at).split(";");
  const address = value.slice(at + 1);
  if (names.some((n) => n === "")) throw bad(`hostname in add-host ${JSON.stringify(value)} is empty`);
  // a hosts line is split at blanks, and # starts a comment
  for (const n of names) if (!/^[^\s#\u0000-\u001f\u007f]+$/.test(n)) throw bad(`"${n}" is not a host name`);
  const name = names.join(" ");
  if (address === HOST_GATEWAY_VALUE) return { name, address };
  const ip = parseIP(address.replace(/^\[(.*)\]$/, "$1"));
  if (ip === null) throw bad(`invalid IP address in add-host: "${address}"`);
  return { name, address: formatIP(ip) };
}

export interface RawEtcOptions {
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOptions?: readonly string[];
  addHosts?: readonly string[];
  hostname?: string;
  noHosts?: boolean;
  hostsFile?: string;
}

/** `--hosts-file none`: no base file. */
export const HOSTS_FILE_NONE = "none";

/**
 * podman's --hosts-file: a path, `none`, or `image` or "" for the default (ctrnet's image is the host:
 * its localhost lines). The path must be a readable file now, as podman reads it at the start.
 */
function parseHostsFile(value: string): string | undefined {
  if (value === "" || value === "image") return undefined;
  if (value === HOSTS_FILE_NONE) return value;
  const path = resolve(value);
  try {
    readFileSync(path);
  } catch (err) {
    throw new UsageError(`invalid --hosts-file "${value}": ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : errorMessage(err)}`);
  }
  return path;
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
  if (raw.hostsFile !== undefined) {
    const hostsFile = parseHostsFile(raw.hostsFile);
    if (hostsFile !== undefined) out.hostsFile = hostsFile;
  }
  checkEtcOptions(out);
  return out;
}

/** The options that cannot go together (also once a hook's arguments and annotations are merged). */
export function checkEtcOptions(opts: EtcOptions): void {
  if (opts.noHosts && opts.addHosts?.length) throw new UsageError("--no-hosts and --add-host cannot be set together");
  if (opts.noHosts && opts.hostsFile !== undefined) throw new UsageError("--no-hosts and --hosts-file cannot be set together");
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
