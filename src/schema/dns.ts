// The configuration `ctrnet _dns --config FILE` serves, and the status file it writes back beside it.
import * as v from "valibot";
import { parseCidr } from "../ip/codec.ts";
import { IPAddress } from "./ip.ts";
import { lazySchemas } from "./lazy.ts";

/** The schemas, built at the first use (lazy.ts): a create or rm loads this module without parsing any of them. */
export const dnsSchemas = lazySchemas(() => {
  const Name = v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "expected a name of letters, digits, _ . -"));
  const Subnet = v.pipe(v.string(), v.check((t) => parseCidr(t) !== null, "expected a subnet like 10.89.0.0/24"));
  /** A container id's first 12 characters (a hex id's, for most runtimes); any name ctrnet takes as an id. */
  const ShortId = v.pipe(Name, v.maxLength(12, "expected at most the first 12 characters of the id"));

  const Port = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535));

  const DnsUpstream = v.strictObject({ address: IPAddress, port: v.optional(Port, 53) });

  const DnsContainer = v.strictObject({
    name: Name,
    /** The first 12 hex digits of the container id, which resolves as a name too. */
    id: ShortId,
    aliases: v.optional(v.array(Name), []),
    /** This container's addresses on the network it is listed under. */
    ipv4: v.optional(v.array(IPAddress), []),
    ipv6: v.optional(v.array(IPAddress), []),
    /** The container's own `--dns`: its other names go to these, before its networks' (aardvark-dns's per-container servers). */
    dnsServers: v.optional(v.array(IPAddress)),
  });

  const DnsNetwork = v.strictObject({
    name: Name,
    /** Where the server listens (UDP and TCP port 53) besides its members' gateways (DnsMember): addresses on the host. */
    gateways: v.optional(v.array(IPAddress), []),
    /** A query from an address in these subnets comes from this network. */
    subnets: v.pipe(v.array(Subnet), v.minLength(1, "expected at least one subnet")),
    /** No way out: names that are not containers' are answered NXDOMAIN, not forwarded. */
    internal: v.optional(v.boolean(), false),
    /** Containers listed here rather than in member files (tests, hand-written configurations). */
    containers: v.optional(v.array(DnsContainer), []),
    /** podman's network `--dns`: its clients' other names go to these instead of the server-wide upstreams. */
    upstreams: v.optional(v.array(DnsUpstream)),
  });

  /** A key of a member file (its file name without .json): a container's id, or a digest of a long one (config.ts dnsMemberKey). */
  const MemberKey = v.pipe(v.string(), v.regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, "expected a container id"), v.maxLength(128));

  /**
   * One container's part of the configuration, in a file of its own (`members/ID.json` beside the configuration):
   * a create or rm writes or removes that file alone, and the server reads it alone (DnsConfig.changed).
   */
  const DnsMember = v.strictObject({
    networks: v.array(
      v.strictObject({
        /** A network of the configuration (one it does not list is ignored). */
        network: Name,
        /** The network's gateways, as the container's set-up reported them: listened on while a member names them. */
        gateways: v.array(IPAddress),
        container: DnsContainer,
      }),
    ),
  });

  const DnsConfig = v.strictObject({
    /** Raised by every write, so a reader of the status file knows which write the server has applied. */
    generation: v.pipe(v.number(), v.integer(), v.minValue(0)),
    /**
     * The member files written or removed since the previous generation, the rest of this file being the same:
     * a server that applied that generation reads those alone. Absent (or any other case): it reads them all.
     */
    changed: v.optional(v.array(MemberKey)),
    networks: v.array(DnsNetwork),
    /** Resolvers for every other name; when absent, the host's (see upstreams.ts), read again on each reload. */
    upstreams: v.optional(v.array(DnsUpstream)),
    /** Port to listen on; 53 unless a test or bench says otherwise. */
    port: v.optional(Port, 53),
  });

  /** What the running server has applied: written by it after start-up and after each reload. */
  const DnsStatus = v.strictObject({
    generation: v.pipe(v.number(), v.integer(), v.minValue(0)),
    /** `ADDRESS:PORT` (IPv6 in brackets) it listens on, UDP and TCP each. */
    listening: v.array(v.string()),
    /** One line per gateway it could not listen on. */
    errors: v.array(v.string()),
    upstreams: v.array(v.string()),
    /** How many containers it serves (the configuration's and the member files'). */
    members: v.optional(v.number()),
  });

  return { DnsUpstream, DnsContainer, DnsNetwork, MemberKey, DnsMember, DnsConfig, DnsStatus };
});
type Schemas = ReturnType<typeof dnsSchemas>;

export type DnsUpstream = v.InferOutput<Schemas["DnsUpstream"]>;
export type DnsContainer = v.InferOutput<Schemas["DnsContainer"]>;
export type DnsNetwork = v.InferOutput<Schemas["DnsNetwork"]>;
export type DnsMember = v.InferOutput<Schemas["DnsMember"]>;
export type DnsMemberInput = v.InferInput<Schemas["DnsMember"]>;
export type DnsConfig = v.InferOutput<Schemas["DnsConfig"]>;
export type DnsConfigInput = v.InferInput<Schemas["DnsConfig"]>;
export type DnsStatus = v.InferOutput<Schemas["DnsStatus"]>;
