// What ctrnet remembers about one container's network, between the command that set it up and the one
// that tears it down. The schema checks records going in and coming back out of the database, which is
// a file anyone with the rights can edit.
import * as v from "valibot";
import { NAME_PATTERN } from "../names.ts";
import { IPAddress, MACAddress } from "../schema/ip.ts";
import { NetworkStatus } from "../schema/network-status.ts";
import { ExposedPort, PortMapping } from "../schema/ports.ts";

const Name = v.pipe(v.string(), v.regex(NAME_PATTERN, "expected a name matching [a-zA-Z0-9][a-zA-Z0-9_.-]*"), v.maxLength(253));

/** Linux interface names: at most IFNAMSIZ-1 bytes, no slash, colon or whitespace, not "." or "..". */
const Ifname = v.pipe(
  v.string(),
  v.regex(/^[^\s/:]{1,15}$/, "expected an interface name of 1-15 characters without /, : or spaces"),
  v.check((n) => n !== "." && n !== "..", "expected an interface name, not . or .."),
);

const AbsolutePath = v.pipe(v.string(), v.startsWith("/", "expected an absolute path"));

const Pid = v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1)));

/** The processes a container's network may need besides its netns. */
export type HelperKind = "slirp4netns" | "pasta" | "portForwarder";

/**
 * How the container gets its network, as podman's `--network`: `bridge` attaches the CNI networks listed
 * in the record (the default one, or those named); `ns` joins a given netns path; `container` shares
 * another container's netns; `slirp4netns` keeps its options as given (`cidr=…`, `mtu=…`), `pasta` its
 * command-line options (`-I`, `eth9`, `--map-gw`).
 */
export const NetMode = v.variant("kind", [
  v.object({ kind: v.literal("bridge") }),
  v.object({ kind: v.literal("none") }),
  v.object({ kind: v.literal("host") }),
  v.object({ kind: v.literal("ns"), path: AbsolutePath }),
  v.object({ kind: v.literal("container"), id: Name }),
  v.object({ kind: v.literal("slirp4netns"), options: v.array(v.string()) }),
  v.object({ kind: v.literal("pasta"), options: v.array(v.string()) }),
]);
export type NetMode = v.InferOutput<typeof NetMode>;

/**
 * `creating` from the moment a command claims the id until every network is up, `removing` from the start
 * of teardown; a record left in either by a crashed command is what `ctrnet gc` finishes.
 */
export const RECORD_STATES = ["creating", "ready", "removing"] as const;
export type RecordState = (typeof RECORD_STATES)[number];

export const NetworkAttachment = v.object({
  network: Name,
  ifname: Ifname,
  aliases: v.array(Name),
  /**
   * The addresses and MAC asked for on this network (podman's PerNetworkOptions StaticIPs and StaticMAC:
   * `--network NAME:ip=…,mac=…`, `--ip`, `connect --ip`), in order; absent when none was. Records of
   * ctrnets before it keep the first network's in staticIP, staticIP6 and staticMAC alone.
   */
  staticIPs: v.optional(v.array(IPAddress)),
  staticMAC: v.optional(MACAddress),
  /** podman 5's `host_interface_name=`: the host end of its veth pair (a bridge network of ctrnet's plugin). */
  hostIfname: v.optional(Ifname),
  /** What the network's driver set up, as its last setup returned it; null before that. */
  status: v.nullable(NetworkStatus),
});
export type NetworkAttachment = v.InferOutput<typeof NetworkAttachment>;

/**
 * The options its /etc files were made from (container/etc-options.ts EtcOptions: --dns, --dns-search,
 * --dns-option, --add-host, --hostname, --no-hosts, --dns none), so connect and disconnect make them again.
 */
export const EtcRecord = v.object({
  dns: v.optional(v.array(v.string())),
  dnsSearch: v.optional(v.array(v.string())),
  dnsOptions: v.optional(v.array(v.string())),
  addHosts: v.optional(v.array(v.object({ name: v.string(), address: v.string() }))),
  hostname: v.optional(v.string()),
  noHosts: v.optional(v.boolean()),
  hostsFile: v.optional(v.string()),
  noResolvConf: v.optional(v.boolean()),
});

export const ContainerRecord = v.pipe(
  v.object({
    id: Name,
    name: v.nullable(Name),
    state: v.picklist(RECORD_STATES),
    mode: NetMode,
    netns: v.nullable(v.object({ path: AbsolutePath, owned: v.boolean() })),
    /** The connected networks, in the order they are set up (and torn down in reverse). */
    networks: v.array(NetworkAttachment),
    /**
     * The interface names of the connected networks, by network (records of older ctrnets also list
     * disconnected ones, dropped at their next connect; see container/attachments.ts).
     */
    ifnames: v.record(Name, Ifname),
    /** The first network's static addresses and MAC, as older ctrnets kept them (the attachments' say it all now). */
    staticIP: v.nullable(IPAddress),
    /** `--ip6` given with `--ip` (staticIP holds the IPv4 one then); a lone `--ip6` is in staticIP. */
    staticIP6: v.optional(IPAddress),
    staticMAC: v.nullable(MACAddress),
    ports: v.array(PortMapping),
    /** `--expose` ports (podman's ExposedPorts): shown by inspect; `-P` published them among `ports`. */
    exposed: v.optional(v.array(ExposedPort)),
    /** `-P`/`--publish-all` was given (podman's HostConfig.PublishAllPorts); absent when it was not. */
    publishAll: v.optional(v.literal(true)),
    helpers: v.object({ slirp4netns: Pid, portForwarder: Pid, pasta: Pid }),
    /** Absent in records of ctrnets before it. */
    etc: v.optional(EtcRecord),
    /** Milliseconds since the epoch. */
    createdAt: v.pipe(v.number(), v.integer(), v.minValue(0)),
  }),
  v.check(
    (r) => new Set(r.networks.map((n) => n.network)).size === r.networks.length,
    "a network is listed twice in networks",
  ),
  v.check(
    (r) => r.networks.every((n) => r.ifnames[n.network] === n.ifname),
    "a connected network's ifname differs from the one reserved for it in ifnames",
  ),
  v.check((r) => new Set(Object.values(r.ifnames)).size === Object.keys(r.ifnames).length, "two networks share an interface name"),
);
export type ContainerRecord = v.InferOutput<typeof ContainerRecord>;

/**
 * The addresses asked for on a network: its attachment's, or, in a record of a ctrnet before per-network
 * statics, the first network's staticIP and staticIP6.
 */
export function staticsOf(rec: ContainerRecord, attachment: NetworkAttachment): string[] {
  if (attachment.staticIPs !== undefined) return [...attachment.staticIPs];
  return rec.networks[0]?.network === attachment.network ? [rec.staticIP, rec.staticIP6].filter((ip) => ip != null) : [];
}

/** The MAC asked for on a network, as staticsOf. */
export function staticMACOf(rec: ContainerRecord, attachment: NetworkAttachment): string | undefined {
  if (attachment.staticIPs !== undefined || attachment.staticMAC !== undefined) return attachment.staticMAC;
  return rec.networks[0]?.network === attachment.network ? (rec.staticMAC ?? undefined) : undefined;
}
