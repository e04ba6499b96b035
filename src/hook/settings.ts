// How the hook configures a container: hook arguments (the same for every container the hook is
// installed for) overridden, key by key, by the container's `io.ctrnet.*` annotations. Both are checked
// in full before anything is made; an annotation ctrnet does not know is an error, so that a typo does
// not silently leave a container without the port or address it asked for.
import { checkEtcOptions, type EtcOptions, parseEtcOptions, validateHostname } from "../container/etc-options.ts";
import { UsageError } from "../errors.ts";
import { parseNetworkMode } from "../lifecycle/index.ts";
import { validateName } from "../names.ts";
import { validateIP, validateMAC } from "../schema/ip.ts";
import { parseExposeSpecs, parsePortSpecs } from "../schema/ports.ts";

export interface HookSettings {
  /** A `--network` value; undefined: the default network. */
  network?: string;
  /** `-p` specs. */
  ports: string[];
  ip?: string;
  /** The IPv6 address beside an IPv4 `ip` (alone: the one static address), as create's --ip6. */
  ip6?: string;
  mac?: string;
  aliases: string[];
  /** `--expose` specs: published on free host ports with publishAll, else only shown. */
  expose: string[];
  publishAll: boolean;
  /** The name /etc/hosts gives the container's addresses; else config.json's hostname, else the id. */
  hostname?: string;
  /** Write /etc/resolv.conf and /etc/hosts into the bundle's root filesystem. */
  writeEtc: boolean;
  /** --dns (none too), --dns-search, --dns-option, --add-host, --no-hosts for those files (hostname stays above). */
  etc?: Omit<EtcOptions, "hostname">;
}

export const ANNOTATION_PREFIX = "io.ctrnet.";

/** The annotation that selects ctrnet, the one hooks.d's `when` matches. */
export const NETWORK_ANNOTATION = `${ANNOTATION_PREFIX}network`;

export { validateHostname };

function validateNetwork(value: string): string {
  parseNetworkMode(value);
  return value;
}

function validatePorts(specs: string[]): string[] {
  parsePortSpecs(specs);
  return specs;
}

function validateAliases(aliases: string[]): string[] {
  for (const alias of aliases) validateName("network alias", alias);
  return aliases;
}

function validateIP6(value: string): string {
  const ip = validateIP(value);
  if (!ip.includes(":")) throw new UsageError(`invalid IPv6 address "${value}"`);
  return ip;
}

function validateExpose(specs: string[]): string[] {
  parseExposeSpecs(specs);
  return specs;
}

function parseBoolean(value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw new UsageError(`expected true or false, got "${value}"`);
}

type Parser = (value: string, into: Partial<HookSettings>) => void;

/** Annotation name (after the prefix) -> how its value is read. Several ports go space-separated in one value. */
const ANNOTATIONS: Record<string, Parser> = {
  network: (value, into) => {
    into.network = validateNetwork(value);
  },
  publish: (value, into) => {
    into.ports = validatePorts(value.split(/\s+/).filter(Boolean));
  },
  ip: (value, into) => {
    into.ip = validateIP(value);
  },
  ip6: (value, into) => {
    into.ip6 = validateIP6(value);
  },
  expose: (value, into) => {
    into.expose = validateExpose(list(value));
  },
  "publish-all": (value, into) => {
    into.publishAll = parseBoolean(value);
  },
  mac: (value, into) => {
    into.mac = validateMAC(value);
  },
  aliases: (value, into) => {
    into.aliases = validateAliases(value.split(",").map((a) => a.trim()).filter(Boolean));
  },
  hostname: (value, into) => {
    into.hostname = validateHostname(value);
  },
  "write-etc": (value, into) => {
    into.writeEtc = parseBoolean(value);
  },
  // several values go space- or comma-separated in one annotation
  dns: (value, into) => {
    into.etc = { ...into.etc, ...parseEtcOptions({ dns: list(value) }) };
  },
  "dns-search": (value, into) => {
    into.etc = { ...into.etc, ...parseEtcOptions({ dnsSearch: list(value) }) };
  },
  "dns-option": (value, into) => {
    into.etc = { ...into.etc, ...parseEtcOptions({ dnsOptions: list(value) }) };
  },
  "add-host": (value, into) => {
    into.etc = { ...into.etc, ...parseEtcOptions({ addHosts: list(value) }) };
  },
  "no-hosts": (value, into) => {
    into.etc = { ...into.etc, noHosts: parseBoolean(value) };
  },
};

function list(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

export const ANNOTATION_NAMES = Object.keys(ANNOTATIONS).map((n) => `${ANNOTATION_PREFIX}${n}`);

export function settingsFromAnnotations(annotations: Readonly<Record<string, string>>): Partial<HookSettings> {
  const out: Partial<HookSettings> = {};
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    const name = key.slice(ANNOTATION_PREFIX.length);
    const parse = Object.hasOwn(ANNOTATIONS, name) ? ANNOTATIONS[name] : undefined;
    if (!parse) throw new UsageError(`unknown annotation ${key}: ctrnet reads ${ANNOTATION_NAMES.join(", ")}`);
    try {
      parse(value, out);
    } catch (err) {
      if (err instanceof UsageError) throw new UsageError(`annotation ${key}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

/**
 * Where runtimes put a container's name among its annotations, in the order they are tried: nerdctl,
 * containerd's CRI plugin (a pod's sandbox container carries the sandbox name), CRI-O. podman 4.3 puts
 * none there (its annotations are io.container.manager and io.podman.annotations.* flags).
 */
export const RUNTIME_NAME_ANNOTATIONS = [
  "nerdctl/name",
  "io.kubernetes.cri.container-name",
  "io.kubernetes.cri.sandbox-name",
  "io.kubernetes.cri-o.ContainerName",
] as const;

/** The runtime's name for the container, when it gave one that ctrnet can use as a name. */
export function runtimeContainerName(annotations: Readonly<Record<string, string>>): string | undefined {
  for (const key of RUNTIME_NAME_ANNOTATIONS) {
    const value = annotations[key];
    if (value === undefined || value === "") continue;
    try {
      return validateName("container name", value);
    } catch {
      // a name ctrnet's rules refuse is only a label it cannot show; the container still gets its network
    }
  }
  return undefined;
}

export interface HookArgs {
  network?: string;
  publish?: readonly string[];
  ip?: string;
  ip6?: string;
  mac?: string;
  aliases?: readonly string[];
  expose?: readonly string[];
  publishAll?: boolean;
  hostname?: string;
  writeEtc?: boolean;
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOptions?: readonly string[];
  addHosts?: readonly string[];
  noHosts?: boolean;
}

export function settingsFromArgs(args: HookArgs): Partial<HookSettings> {
  const out: Partial<HookSettings> = {};
  if (args.network !== undefined) out.network = validateNetwork(args.network);
  if (args.publish?.length) out.ports = validatePorts([...args.publish]);
  if (args.ip !== undefined) out.ip = validateIP(args.ip);
  if (args.ip6 !== undefined) out.ip6 = validateIP6(args.ip6);
  if (args.mac !== undefined) out.mac = validateMAC(args.mac);
  if (args.aliases?.length) out.aliases = validateAliases([...args.aliases]);
  if (args.expose?.length) out.expose = validateExpose(args.expose.flatMap((e) => e.split(",")));
  if (args.publishAll !== undefined) out.publishAll = args.publishAll;
  if (args.hostname !== undefined) out.hostname = validateHostname(args.hostname);
  if (args.writeEtc !== undefined) out.writeEtc = args.writeEtc;
  const etc = parseEtcOptions({ dns: args.dns, dnsSearch: args.dnsSearch, dnsOptions: args.dnsOptions, addHosts: args.addHosts, noHosts: args.noHosts });
  if (Object.keys(etc).length) out.etc = etc;
  return out;
}

/** Annotations win over arguments, key by key. */
export function resolveSettings(args: HookArgs, annotations: Readonly<Record<string, string>>): HookSettings {
  const fromArgs = settingsFromArgs(args);
  const fromAnnotations = settingsFromAnnotations(annotations);
  // key by key within the /etc options too: an annotation's --dns leaves the arguments' --add-host (its
  // nameservers and `none` are one key: either replaces the other)
  const etc: Omit<EtcOptions, "hostname"> = { ...fromArgs.etc, ...fromAnnotations.etc };
  if (fromAnnotations.etc?.dns) delete etc.noResolvConf;
  if (fromAnnotations.etc?.noResolvConf) delete etc.dns;
  if (etc.noHosts === false) delete etc.noHosts;
  checkEtcOptions(etc);
  const { etc: _argsEtc, ...argSettings } = fromArgs;
  const { etc: _annotationsEtc, ...annotationSettings } = fromAnnotations;
  return { ports: [], aliases: [], expose: [], publishAll: false, writeEtc: false, ...argSettings, ...annotationSettings, ...(Object.keys(etc).length ? { etc } : {}) };
}
