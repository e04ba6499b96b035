// Routes in the typed API: what a route looks like to callers, and the RTM_*ROUTE messages.
import { AF_INET, AF_INET6 } from "../../ffi/libc.ts";
import { UsageError } from "../errors.ts";
import { formatIP } from "../ip/codec.ts";
import { familyNumber, familyOf, parseCidrArg, parseIPArg, type Family } from "./addresses.ts";
import { attrValue } from "./attrs.ts";
import type { LinkRef } from "./links.ts";
import {
  RT_SCOPE_HOST,
  RT_SCOPE_LINK,
  RT_SCOPE_UNIVERSE,
  RT_TABLE_MAIN,
  RTN_LOCAL,
  RTN_UNICAST,
  RTPROT_BOOT,
  type RouteAttr,
  type RouteMessage,
} from "./msg-route.ts";

const RT_SCOPE_NOWHERE = 255;

export interface Route {
  family: Family;
  /** "default", or a CIDR such as 10.88.0.0/16. */
  dst: string;
  gateway?: string;
  /** Index of the outgoing link. */
  oif?: number;
  table: number;
  /** RTPROT_*: 2 kernel, 3 boot, 4 static, … */
  protocol: number;
  /** RT_SCOPE_* */
  scope: number;
  /** RTN_*: 1 unicast, 2 local, … */
  type: number;
  /** The metric. */
  priority?: number;
  prefsrc?: string;
}

export interface RouteSpec {
  /** "default", or a CIDR such as 10.88.0.0/16. */
  dst: string;
  gateway?: string;
  /** Outgoing link. */
  dev?: LinkRef;
  /** Defaults to the main table. */
  table?: number;
  metric?: number;
  /**
   * Added beside a route to the same destination instead of failing with EEXIST (NLM_F_APPEND, as
   * vishvananda's RouteAddEcmp that the reference plugins use): a container's second network's default route.
   */
  append?: boolean;
  /** Needed only for a default route without a gateway; otherwise taken from dst or gateway (IPv4 if neither says). */
  family?: Family;
  /** "local": everything dst covers is delivered to this host (`ip route add local …`, a transparent proxy's way back). */
  type?: "unicast" | "local";
}

/** null for other families (multicast routing tables) */
export function toRoute(msg: RouteMessage): Route | null {
  const { header, attrs } = msg;
  if (header.family !== AF_INET && header.family !== AF_INET6) return null;
  const dst = attrValue(attrs, "dst");
  return {
    family: header.family === AF_INET ? 4 : 6,
    dst: dst === undefined && header.dstLength === 0 ? "default" : `${dst ?? ""}/${header.dstLength}`,
    gateway: attrValue(attrs, "gateway"),
    oif: attrValue(attrs, "oif"),
    table: attrValue(attrs, "table") ?? header.table,
    protocol: header.protocol,
    scope: header.scope,
    type: header.type,
    priority: attrValue(attrs, "priority"),
    prefsrc: attrValue(attrs, "prefsrc"),
  };
}

/**
 * For a delete, header fields left at zero (and scope "nowhere") match any value, as with `ip route del`:
 * the kernel removes the first route that agrees with everything given.
 */
export function routeMessage(spec: RouteSpec, oif: number | undefined, purpose: "add" | "delete"): RouteMessage {
  const dst = spec.dst === "default" ? null : parseCidrArg(spec.dst);
  const gateway = spec.gateway === undefined ? null : parseIPArg(spec.gateway);
  const family = dst ? familyOf(dst.address) : gateway ? familyOf(gateway) : (spec.family ?? 4);
  if ((gateway && familyOf(gateway) !== family) || (spec.family !== undefined && spec.family !== family)) {
    throw new UsageError(`${describeRoute(spec)}: mixes IPv4 and IPv6`);
  }
  const table = spec.table ?? RT_TABLE_MAIN;
  const attrs: RouteAttr[] = [{ name: "table", value: table }];
  if (dst) attrs.push({ name: "dst", value: formatIP(dst.address) });
  if (gateway) attrs.push({ name: "gateway", value: formatIP(gateway) });
  if (oif !== undefined) attrs.push({ name: "oif", value: oif });
  if (spec.metric !== undefined) attrs.push({ name: "priority", value: spec.metric });
  const adding = purpose === "add";
  const local = spec.type === "local";
  if (local && gateway) throw new UsageError(`${describeRoute(spec)}: a local route has no gateway`);
  return {
    header: {
      family: familyNumber(family),
      dstLength: dst?.prefixLength ?? 0,
      srcLength: 0,
      tos: 0,
      table: table < 256 ? table : 0,
      protocol: adding ? RTPROT_BOOT : 0,
      scope: adding ? (local ? RT_SCOPE_HOST : gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK) : RT_SCOPE_NOWHERE,
      type: local ? RTN_LOCAL : adding ? RTN_UNICAST : 0,
      flags: 0,
    },
    attrs,
  };
}

export function describeRoute(spec: RouteSpec): string {
  const via = spec.gateway === undefined ? "" : ` via ${spec.gateway}`;
  const dev = spec.dev === undefined ? "" : ` dev ${typeof spec.dev === "number" ? `index ${spec.dev}` : `"${spec.dev}"`}`;
  return `${spec.type === "local" ? "local " : ""}route ${spec.dst}${via}${dev}${spec.table === undefined ? "" : ` table ${spec.table}`}`;
}
