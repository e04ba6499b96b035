// CNI results as plugins print them. Two shapes: 0.1.0/0.2.0 (`ip4`/`ip6`) and 0.3.0 onwards (`interfaces`,
// `ips`, `routes`); 0.3.x/0.4.0 add `version` to each IP, 1.0.0 drops it, 1.1.0 adds optional interface and
// route fields. Plugin output is external input: addresses are checked, not trusted.
import * as v from "valibot";
import { ipFamily } from "../ip/codec.ts";
import { lazySchemas } from "./lazy.ts";

function isCidr(s: string): boolean {
  const slash = s.indexOf("/");
  if (slash < 0) return false;
  const family = ipFamily(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  if (family === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export const Cidr = v.pipe(v.string(), v.check(isCidr, "expected an address with prefix length, like 10.88.0.2/16"));
export const IpAddress = v.pipe(v.string(), v.check((s) => ipFamily(s) !== 0, "expected an IP address"));

export const Dns = v.looseObject({
  nameservers: v.optional(v.array(v.string())),
  domain: v.optional(v.string()),
  search: v.optional(v.array(v.string())),
  options: v.optional(v.array(v.string())),
});

/** The result schemas, built at the first use (lazy.ts): ctrnet's own plugin hands its results over unparsed, so a native create never parses one. */
export const cniResultSchemas = lazySchemas(() => {
  const Index = v.pipe(v.number(), v.integer(), v.minValue(0));

  const Route = v.looseObject({
    dst: Cidr,
    gw: v.optional(IpAddress),
    mtu: v.optional(Index),
    advmss: v.optional(Index),
    priority: v.optional(Index),
    table: v.optional(Index),
    scope: v.optional(Index),
  });

  const Interface = v.looseObject({
    name: v.string(),
    mac: v.optional(v.string()),
    sandbox: v.optional(v.string()),
    mtu: v.optional(Index),
    socketPath: v.optional(v.string()),
    pciID: v.optional(v.string()),
  });

  const IpConfig = v.looseObject({
    version: v.optional(v.picklist(["4", "6"])),
    address: Cidr,
    gateway: v.optional(IpAddress),
    interface: v.optional(Index),
  });

  /** 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0. Go marshals empty slices as null, so null means absent. */
  const ResultCurrent = v.looseObject({
    cniVersion: v.string(),
    interfaces: v.nullish(v.array(Interface)),
    ips: v.nullish(v.array(IpConfig)),
    routes: v.nullish(v.array(Route)),
    dns: v.nullish(Dns),
  });

  const IpConfig020 = v.looseObject({
    ip: Cidr,
    gateway: v.optional(IpAddress),
    routes: v.nullish(v.array(Route)),
  });

  const Result020 = v.looseObject({
    cniVersion: v.optional(v.string()),
    ip4: v.nullish(IpConfig020),
    ip6: v.nullish(IpConfig020),
    dns: v.nullish(Dns),
  });

  return { ResultCurrent, Result020 };
});
export type ResultCurrent = v.InferOutput<ReturnType<typeof cniResultSchemas>["ResultCurrent"]>;
export type Result020 = v.InferOutput<ReturnType<typeof cniResultSchemas>["Result020"]>;
