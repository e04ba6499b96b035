// Argument groups shared by several commands.
import { ipFamily } from "../ip/codec.ts";
import type { ArgsDef } from "citty";
import { configuredResolvOptions, hasEtcOptions, parseEtcOptions } from "../container/etc-options.ts";
import { quote, UsageError } from "../errors.ts";
import type { ContextOptions } from "../lifecycle/context.ts";
import type { CreateRequest, NetworkRequest } from "../lifecycle/types.ts";

export const globalArgs = {
  "log-level": { type: "string", description: "silent, error, warn, info, debug or trace (env CTRNET_LOG_LEVEL)" },
} as const satisfies ArgsDef;

export const netnsDirArg = {
  "netns-dir": { type: "string", description: "directory of persistent network namespaces (env CTRNET_NETNS_DIR)" },
} as const satisfies ArgsDef;

/** Where state, netns files and CNI configuration live; each also settable by env (see lifecycle/context.ts). */
export const runtimeArgs = {
  ...netnsDirArg,
  root: { type: "string", description: "runtime state directory (env CTRNET_ROOT; default /run/ctrnet, or $XDG_RUNTIME_DIR/ctrnet rootless)" },
  "cni-config-dir": { type: "string", description: "network configuration directory (env CTRNET_CNI_CONFIG_DIR; default /etc/cni/net.d, or ~/.config/cni/net.d rootless)" },
  "cni-plugin-dir": { type: "string", description: "extra CNI plugin directory searched first, colon-separated (env CTRNET_CNI_PLUGIN_DIR)" },
  "cni-cache-dir": { type: "string", description: "CNI result cache directory (env CTRNET_CNI_CACHE_DIR; default /var/lib/cni)" },
} as const satisfies ArgsDef;

type RuntimeArgValues = { [K in keyof typeof runtimeArgs]?: string | undefined };

/**
 * citty's parsed arguments are a Proxy that answers the read of an option not given by converting its name
 * to camelCase and to kebab-case, character by character, every time: create reads some twenty options
 * it was not given, which cost it about half a millisecond of a fresh process. A plain copy answers at
 * once. Only for a command that rejects unknown options (rejectUnknownOptions), so that no option can
 * have come in another spelling than its own.
 */
export function plainArgs<T extends object>(args: T): T {
  return { ...args };
}

export function contextOptions(parsed: RuntimeArgValues): ContextOptions {
  const args = plainArgs(parsed);
  return {
    root: args.root,
    netnsDir: args["netns-dir"],
    cniConfigDir: args["cni-config-dir"],
    cniPluginDirs: args["cni-plugin-dir"]?.split(":").filter(Boolean),
    cniCacheDir: args["cni-cache-dir"],
  };
}

/** The options `create` and `run` share: how the container's network is made. */
export const containerArgs = {
  name: { type: "string", description: "container name (unique, usable instead of the id)" },
  network: {
    type: "string",
    alias: "net",
    description: "bridge (the default network), NAME[,NAME…], none, host, ns:PATH or container:ID",
    valueHint: "network",
  },
  publish: {
    type: "string",
    alias: "p",
    description: "publish a port: [HOSTIP:][HOSTPORT[-END]:]CTRPORT[-END][/tcp|udp|sctp]; repeatable, or comma-separated",
  },
  "publish-all": { type: "boolean", alias: "P", description: "publish every --expose port no -p covers on a free host port" },
  expose: { type: "string", description: "expose a port or range: PORT[-END][/tcp|udp|sctp] (published with -P); repeatable, or comma-separated" },
  ip: { type: "string", description: "static IPv4 (or IPv6) address on the first network" },
  ip6: { type: "string", description: "static IPv6 address on the first network (with --ip: both, on a dual-stack network)" },
  mac: { type: "string", alias: "mac-address", description: "static MAC address on the first network" },
  alias: { type: "string", alias: "network-alias", description: "network alias; repeatable, or comma-separated" },
  netns: { type: "string", description: "configure this existing network namespace (path) instead of creating one" },
  pid: { type: "string", description: "keep and configure the network namespace of this running process" },
  dns: { type: "string", description: "nameserver for the container's resolv.conf, replacing all others (none: leave resolv.conf as it is); repeatable, or comma-separated" },
  "dns-search": { type: "string", description: "search domain for resolv.conf, replacing all others (. for none); repeatable, or comma-separated" },
  "dns-option": { type: "string", alias: "dns-opt", description: "resolv.conf option, e.g. ndots:2; repeatable, or comma-separated (podman's --dns-opt too)" },
  "add-host": { type: "string", description: "extra /etc/hosts line NAME:IP (IP may be host-gateway); repeatable, or comma-separated" },
  hostname: { type: "string", description: "the container's first name in /etc/hosts" },
  "no-hosts": { type: "boolean", description: "leave /etc/hosts as it is (the host's for run)" },
  "hosts-file": { type: "string", description: "base of /etc/hosts: every line of this file, or none (default, or image: the host's localhost lines)" },
  replace: { type: "boolean", description: "remove the container of the same name (or id) first, if there is one (podman's --replace)" },
  // podman's terminal flags, which its tests pass everywhere: nothing for a network to do
  tty: { type: "boolean", alias: "t", description: "podman's -t: accepted, ctrnet allocates no terminal" },
  interactive: { type: "boolean", alias: "i", description: "podman's -i: accepted, stdin is the command's as it is" },
} as const satisfies ArgsDef;

type ContainerArgValues = { [K in keyof typeof containerArgs]?: string | string[] | boolean | undefined };

/**
 * The spellings of a command's options, read from its definition once: every word of a create is looked up
 * in them by rejectUnknownOptions, repeatedValues (eight times), joinNegativeValues and explicitBooleans,
 * where walking the definition's thirty options for each word cost a fresh process some tenths of a ms.
 */
interface FlagTable {
  /** Every option spelling (--NAME, --no-NAME of a boolean, -A, --ALIAS) -> whether it takes a value. */
  known: Map<string, boolean>;
  /** The spellings that take a value. */
  valueFlags: Set<string>;
  /** A boolean's --NAME and its long aliases' --ALIAS. */
  booleans: Set<string>;
  /** A string option's --NAME, and -ALIAS of each alias (one dash, whatever its length) -> its name; the first definition wins. */
  stringOptions: Map<string, string>;
}

const flagTables = new WeakMap<object, FlagTable>();

type OptionDef = { type?: string; alias?: string | readonly string[] };

export function flagTable(def: Readonly<Record<string, OptionDef>>): FlagTable {
  const known = flagTables.get(def);
  if (known) return known;
  const table: FlagTable = { known: new Map(), valueFlags: new Set(), booleans: new Set(), stringOptions: new Map() };
  for (const [name, arg] of Object.entries(def)) {
    const aliases: readonly string[] = arg.alias === undefined ? [] : typeof arg.alias === "string" ? [arg.alias] : arg.alias;
    if (arg.type === "string") {
      table.valueFlags.add(`--${name}`);
      for (const a of aliases) table.valueFlags.add(a.length === 1 ? `-${a}` : `--${a}`);
      if (!table.stringOptions.has(`--${name}`)) table.stringOptions.set(`--${name}`, name);
      for (const a of aliases) if (!table.stringOptions.has(`-${a}`)) table.stringOptions.set(`-${a}`, name);
    } else if (arg.type === "boolean") {
      table.booleans.add(`--${name}`);
      for (const a of aliases) if (a.length > 1) table.booleans.add(`--${a}`);
    }
    if (arg.type === "positional") continue;
    const takesValue = arg.type === "string";
    table.known.set(`--${name}`, takesValue);
    if (!takesValue) table.known.set(`--no-${name}`, false);
    for (const a of aliases) table.known.set(a.length === 1 ? `-${a}` : `--${a}`, takesValue);
  }
  flagTables.set(def, table);
  return table;
}

/**
 * Every value of a repeatable option, in order, from the raw arguments up to `--`. citty 0.1.6 collects
 * repeats into an array, but drops values when the long and short spellings are mixed (`-p A --publish B`).
 */
export function repeatedValues(rawArgs: readonly string[], def: ArgsDef, name: string): string[] {
  const arg = def[name];
  const aliases = arg && "alias" in arg && arg.alias !== undefined ? [arg.alias].flat() : [];
  const mine = new Set([`--${name}`, ...aliases.map((a) => (a.length === 1 ? `-${a}` : `--${a}`))]);
  const takesValue = flagTable(def).valueFlags;
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") break;
    const eq = token.indexOf("=");
    const flag = token.startsWith("-") && eq > 0 ? token.slice(0, eq) : token;
    if (mine.has(flag)) {
      const value = eq > 0 && flag !== token ? token.slice(eq + 1) : rawArgs[++i];
      if (value === undefined) throw new UsageError(`option ${flag} needs a value`);
      out.push(value);
    } else if (takesValue.has(token)) {
      i++;
    }
  }
  return out;
}

function single(args: ContainerArgValues, name: keyof typeof containerArgs): string | undefined {
  const value = args[name];
  if (Array.isArray(value)) throw new UsageError(`option --${name} can be given only once`);
  return typeof value === "boolean" ? undefined : value;
}

function many(args: ContainerArgValues, rawArgs: readonly string[] | undefined, name: keyof typeof containerArgs): string[] {
  if (rawArgs) return repeatedValues(rawArgs, containerArgs, name);
  const value = args[name];
  return value === undefined || typeof value === "boolean" ? [] : [value].flat();
}

/**
 * One value of a podman string-slice flag (pflag's StringSlice: -p, --expose, --dns, --dns-search,
 * --dns-option, --add-host, --network-alias), read as pflag reads it: one line of CSV, so `a,b` is two
 * values, `""` none at all, and a double-quoted field may hold a comma. A stray quote is Go's csv error.
 */
export function readAsCsv(value: string): string[] {
  if (value === "") return [];
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (value[i] === '"') {
      const start = i;
      for (i++; ; i++) {
        if (i >= value.length) throw new UsageError(`parse error on line 1, column ${start + 1}: extraneous or missing " in quoted-field`);
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            field += '"';
            i++;
            continue;
          }
          i++;
          break;
        }
        field += value[i];
      }
      if (i < value.length && value[i] !== ",") throw new UsageError(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
    } else {
      const end = value.indexOf(",", i);
      field = value.slice(i, end < 0 ? undefined : end);
      const quote = field.indexOf('"');
      if (quote >= 0) throw new UsageError(`parse error on line 1, column ${i + quote + 1}: bare " in non-quoted-field`);
      i += field.length;
    }
    out.push(field);
    if (i >= value.length) return out;
    i++; // the comma
  }
}

/** Every value of a string-slice flag: each occurrence read as CSV (see readAsCsv). */
function slice(args: ContainerArgValues, rawArgs: readonly string[] | undefined, name: keyof typeof containerArgs): string[] {
  return many(args, rawArgs, name).flatMap(readAsCsv);
}

function parsePid(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(text)) throw new UsageError(`invalid --pid "${text}": expected a process id`);
  return Number(text);
}

/**
 * `--ip` and `--ip6` (or a network's `ip=`/`ip6=`): one address of each family at most. `ip` is the one
 * address when only one is given (either family, as before), `ip6` the IPv6 one beside an IPv4 `ip`.
 */
export function staticAddresses(ip4: string | undefined, ip6: string | undefined): { ip?: string; ip6?: string } {
  // podman's netflags: each value parsed first, --ip then --ip6
  for (const value of [ip4, ip6]) if (value !== undefined && ipFamily(value) === 0) throw new UsageError(`${JSON.stringify(value)} is not an ip address`);
  if (ip6 !== undefined && !ip6.includes(":")) throw new UsageError(`invalid --ip6 "${ip6}": expected an IPv6 address`);
  if (ip4 === undefined) return ip6 === undefined ? {} : { ip: ip6 };
  if (ip6 === undefined) return { ip: ip4 };
  if (ip4.includes(":")) throw new UsageError(`--ip ${ip4} and --ip6 ${ip6} are both IPv6: give --ip an IPv4 address`);
  return { ip: ip4, ip6 };
}

/** Modes that are not network names: podman's words when one is given beside other networks. */
const NON_NETWORK_MODES = ["bridge", "pasta", "pod", "none", "default", "private", "ns", "container", "host", "slirp4netns"];

interface NetworkOptions {
  mode?: string;
  /** The networks the mode names, in order (none for a mode other than bridge or names; one for the default). */
  count: number;
  /** Each network's own options, by position. */
  perNetwork: NetworkRequest[];
}

/** podman's parseBridgeNetworkOptions: `ip=IP,ip6=IP,mac=MAC,alias=A,interface_name=IF` of network name. */
function perNetworkOptions(name: string, options: string): NetworkRequest {
  const out: NetworkRequest = {};
  const fail = (why: string): never => {
    throw new UsageError(`invalid option for network ${name}: ${why}`);
  };
  for (const opt of options.split(",").filter(Boolean)) {
    const eq = opt.indexOf("=");
    const [key, value] = eq < 0 ? [opt, ""] : [opt.slice(0, eq), opt.slice(eq + 1)];
    if (key === "ip" || key === "ip6") {
      if (ipFamily(value) === 0) fail(`invalid ip address ${JSON.stringify(value)}`);
      (out.ips ??= []).push(value);
    } else if (key === "mac") out.mac = value;
    else if (key === "host_interface_name") {
      if (value === "") fail("host_interface_name cannot be empty");
      out.hostInterfaceName = value;
    } else if (key === "interface_name") {
      if (value === "") fail("interface_name cannot be empty");
      out.interfaceName = value;
    } else if (key === "alias") {
      if (value === "") fail("alias cannot be empty");
      (out.aliases ??= []).push(value);
    } else {
      fail(`${quote(key)} is not supported (use ip, ip6, mac, alias, interface_name, host_interface_name)`);
    }
  }
  return out;
}

/**
 * podman's `--network` given several times (each one more network, as a comma-separated list) and its
 * per-network options `NAME:ip=IP,ip6=IP,mac=MAC,alias=A,interface_name=IF` (podman's ParseNetworkFlag),
 * each applying to its own network.
 */
function networkOptions(values: readonly string[]): NetworkOptions {
  const out: NetworkOptions = { count: 1, perNetwork: [] };
  if (values.length === 0) return out;
  const [first = "", ...extra] = values;
  const colon = first.indexOf(":");
  const head = colon < 0 ? first : first.slice(0, colon);
  const named = !NON_NETWORK_MODES.includes(head) && colon >= 0;
  const bridgeOptions = head === "bridge" && colon >= 0;
  out.mode = first;
  if (named || bridgeOptions) {
    if (named && head === "") throw new UsageError("network name cannot be empty");
    out.perNetwork.push(perNetworkOptions(head, first.slice(colon + 1)));
    out.mode = head;
  } else if (NON_NETWORK_MODES.includes(head) && !["bridge", "default", "private"].includes(head)) {
    out.count = 0;
  } else if (!NON_NETWORK_MODES.includes(head)) {
    // podman's backwards-compatible list of names in one value, without options
    out.count = first.split(",").length;
    out.perNetwork.push(...first.split(",").map(() => ({})));
  }
  if (extra.length) {
    const mode = out.mode.split(":")[0]!;
    if (["pasta", "none", "ns", "container", "host", "slirp4netns"].includes(mode)) {
      throw new UsageError(`cannot set multiple networks without bridge network mode, selected mode ${mode}: invalid argument`);
    }
    if (out.perNetwork.length === 0) out.perNetwork.push({});
    for (const net of extra) {
      const [extraName = "", options] = [net.split(":")[0], net.includes(":") ? net.slice(net.indexOf(":") + 1) : undefined];
      if (extraName === "") throw new UsageError("network name cannot be empty: invalid argument");
      if (NON_NETWORK_MODES.includes(extraName)) {
        throw new UsageError(`can only set extra network names, selected mode ${extraName} conflicts with bridge: invalid argument`);
      }
      out.perNetwork.push(perNetworkOptions(extraName, options ?? ""));
    }
    out.count = out.perNetwork.length;
    // podman's bridge mode is its default network, by name among others
    out.mode = [out.mode === "bridge" ? "ctrnet" : out.mode, ...extra.map((net) => net.split(":")[0]!)].join(",");
  }
  return out;
}

/**
 * The container options as a CreateRequest (without the id). Pass citty's rawArgs: repeated -p and
 * --alias are then read from them (see repeatedValues).
 */
export function createRequestOf(parsed: ContainerArgValues, rawArgs?: readonly string[]): Omit<CreateRequest, "id"> {
  const args = plainArgs(parsed);
  const req: Omit<CreateRequest, "id"> = {};
  const name = single(args, "name");
  const fromNetworks = networkOptions(rawArgs ? repeatedValues(rawArgs, containerArgs, "network") : [single(args, "network")].filter((n) => n !== undefined));
  const network = fromNetworks.mode;
  // The network mode reads "" as the default (bridge); typed on a command line it is a mistake, such as an unset variable.
  if (network === "") throw new UsageError("--network must not be empty: give bridge, NAME[,NAME…], none, host, ns:PATH, container:ID, slirp4netns or pasta");
  const { ip, ip6 } = staticAddresses(single(args, "ip"), single(args, "ip6"));
  const mac = single(args, "mac");
  // podman's netflags: the flags name no network, so they go with one only
  if (fromNetworks.count > 1) {
    for (const [flag, value] of [["ip", single(args, "ip")], ["ip6", single(args, "ip6")], ["mac-address", mac]] as const) {
      if (value === undefined) continue;
      if (ipFamily(value) === 0 && flag !== "mac-address") throw new UsageError(`${JSON.stringify(value)} is not an ip address`);
      throw new UsageError(`--${flag} can only be set for a single network: invalid argument`);
    }
  }
  const netnsPath = single(args, "netns");
  const pid = parsePid(single(args, "pid"));
  // podman's string slices: repeated, and each value a comma-separated list ("" adds nothing)
  const ports = slice(args, rawArgs, "publish");
  const expose = slice(args, rawArgs, "expose");
  const aliases = slice(args, rawArgs, "alias");
  if (name !== undefined) req.name = name;
  if (network !== undefined) req.network = network;
  if (ports.length) req.ports = ports;
  if (expose.length) req.expose = expose;
  if (args["publish-all"] === true) req.publishAll = true;
  if (ip !== undefined) req.ip = ip;
  if (ip6 !== undefined) req.ip6 = ip6;
  if (mac !== undefined) req.mac = mac;
  if (aliases.length) req.aliases = aliases;
  if (fromNetworks.perNetwork.some((o) => Object.keys(o).length > 0)) req.networkOptions = fromNetworks.perNetwork;
  if (netnsPath !== undefined && pid !== undefined) throw new UsageError("--netns and --pid cannot be used together");
  if (netnsPath !== undefined) req.netns = { kind: "join", path: netnsPath };
  if (pid !== undefined) req.netns = { kind: "adopt", pid, keep: "mount" };
  const resolv = { dns: slice(args, rawArgs, "dns"), dnsSearch: slice(args, rawArgs, "dns-search"), dnsOptions: slice(args, rawArgs, "dns-option") };
  // podman's create check, before any value is read: resolv.conf is the other container's, or there is no network to resolve on
  const nsMode = network === "none" ? "none" : network?.startsWith("container:") ? "container" : undefined;
  if (nsMode !== undefined && Object.values(resolv).some((values) => values.length > 0)) {
    throw new UsageError(`conflicting options: dns and the network mode: ${nsMode}`);
  }
  // containers.conf's dns_servers, dns_searches and dns_options come before the command line's, as podman's
  const conf = configuredResolvOptions();
  try {
    parseEtcOptions(conf);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    throw new UsageError(`CTRNET_DNS_SERVERS, CTRNET_DNS_SEARCHES or CTRNET_DNS_OPTIONS: ${err.message}`);
  }
  const etc = parseEtcOptions({
    dns: resolv.dns.includes("none") ? resolv.dns : [...conf.dns, ...resolv.dns],
    dnsSearch: [...conf.dnsSearch, ...resolv.dnsSearch],
    dnsOptions: [...conf.dnsOptions, ...resolv.dnsOptions],
    addHosts: slice(args, rawArgs, "add-host"),
    hostname: single(args, "hostname"),
    hostsFile: single(args, "hosts-file"),
    // citty reads --no-hosts as the negation of a `hosts` flag
    noHosts: args["no-hosts"] === true || (args as Record<string, unknown>).hosts === false,
  });
  // podman's specgen check: the hosts file is the other container's
  if (network?.startsWith("container:") && etc.addHosts?.length) {
    throw new UsageError("cannot set extra host entries when the container is joined to another containers network namespace: invalid configuration");
  }
  if (hasEtcOptions(etc)) req.etc = etc;
  return req;
}

/** citty 0.1.6 takes an unknown `--flag` for a boolean and moves on: a typo would silently change nothing. */
export function rejectUnknownOptions(rawArgs: readonly string[], def: Readonly<Record<string, OptionDef>>): void {
  const { known } = flagTable(def);
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i]!;
    if (token === "--") return;
    if (!token.startsWith("-") || token === "-") continue;
    const flag = token.includes("=") ? token.slice(0, token.indexOf("=")) : token;
    if (!known.has(flag) && /^-[a-zA-Z]{2,}$/.test(token)) {
      // short flags together, as pflag and citty read them (podman's -dt, -it): booleans, the last may take a value
      const letters = [...token.slice(1)];
      letters.forEach((letter, at) => {
        const value = known.get(`-${letter}`);
        if (value === undefined) throw new UsageError(`unknown option -${letter} in ${token}`);
        if (value && at < letters.length - 1) throw new UsageError(`option -${letter} takes a value: it cannot be followed by other flags in ${token}`);
      });
      if (known.get(`-${letters.at(-1)}`)) i++;
      continue;
    }
    const takesValue = known.get(flag);
    if (takesValue === undefined) throw new UsageError(`unknown option ${flag}`);
    if (takesValue && flag === token) i++;
  }
}

/**
 * How many positional arguments a command takes, as podman's cobra commands declare it (`Args:
 * cobra.ExactArgs(2)`, `MaximumNArgs(1)`, `MinimumNArgs(1)`, podman's `validate.NoArgs`).
 */
export interface ArgCount {
  min: number;
  max: number;
}

export const noArgs: ArgCount = { min: 0, max: 0 };
export const exactArgs = (n: number): ArgCount => ({ min: n, max: n });
export const maximumArgs = (n: number): ArgCount => ({ min: 0, max: n });
export const minimumArgs = (n: number): ArgCount => ({ min: n, max: Infinity });

const argCounts = new WeakMap<object, ArgCount>();

/**
 * Declares the positional count of a command (podman's `Args:`), which the CLI checks before the command
 * runs: citty says nothing of a word too many, and its own words for one missing are not cobra's.
 */
export function takesArgs<T extends object>(count: ArgCount, command: T): T {
  argCounts.set(command, count);
  return command;
}

/** The positional words of a command's arguments: neither an option nor the value of one that takes one. */
export function positionalWords(rawArgs: readonly string[], def: Readonly<Record<string, OptionDef>>): string[] {
  const { known } = flagTable(def);
  const out: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const word = rawArgs[i]!;
    if (word === "--") return [...out, ...rawArgs.slice(i + 1)];
    if (!word.startsWith("-") || word === "-") out.push(word);
    else if (word.includes("=")) continue;
    else if (known.get(word)) i++;
    // short flags together (-dt): the last may take a value
    else if (/^-[a-zA-Z]{2,}$/.test(word) && known.get(`-${word.at(-1)}`)) i++;
  }
  return out;
}

/** cobra's words for a positional count a command does not take (commandPath: `ctrnet network ls`, for podman's NoArgs). */
export function checkArgCount(command: object, def: Readonly<Record<string, OptionDef>>, commandPath: string, rawArgs: readonly string[]): void {
  const count = argCounts.get(command);
  if (count === undefined) return;
  // as cobra: the options first
  rejectUnknownOptions(rawArgs, def);
  const n = positionalWords(rawArgs, def).length;
  if (n >= count.min && n <= count.max) return;
  if (count.max === 0) throw new UsageError(`\`${commandPath}\` takes no arguments`);
  if (count.min === count.max) throw new UsageError(`accepts ${count.max} arg(s), received ${n}`);
  if (count.max === Infinity) throw new UsageError(`requires at least ${count.min} arg(s), only received ${n}`);
  if (count.min === 0) throw new UsageError(`accepts at most ${count.max} arg(s), received ${n}`);
  throw new UsageError(`accepts between ${count.min} and ${count.max} arg(s), received ${n}`);
}

/** `--format`: a table for people, or JSON for programs. */
/** podman's -l/--latest of the commands that name containers. */
export const latestArg = {
  latest: { type: "boolean", alias: "l", description: "the container made last (podman's --latest)" },
} as const satisfies ArgsDef;

/**
 * podman's CheckAllLatestAndIDFile: which of names, --all and --latest go together, in its words.
 * ignoreArgLen: the arguments are not (only) names (port's PORT).
 */
export function checkAllLatest(names: readonly string[], opts: { all?: boolean; latest?: boolean }, ignoreArgLen = false): void {
  if (opts.all && opts.latest) throw new UsageError("--all and --latest cannot be used together");
  if (names.length > 0 && opts.all) throw new UsageError("no arguments are needed with --all");
  if (ignoreArgLen) return;
  if (names.length > 0 && opts.latest) throw new UsageError("--latest and containers cannot be used together");
  if (names.length === 0 && !opts.all && !opts.latest) throw new UsageError("you must provide at least one name or id");
}

export const formatArg = {
  format: { type: "string", description: "table (default) or json" },
} as const satisfies ArgsDef;

export function parseFormat(value: unknown): "table" | "json" {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw new UsageError(`invalid --format "${String(value)}": use table or json`);
}

/** Columns padded to their widest cell, as podman's tables. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [header, ...rows].map((r) => `${line(r)}\n`).join("");
}
