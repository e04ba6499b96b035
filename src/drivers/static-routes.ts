// The routes a network's ipam section gives its containers, as the reference bridge plugin reads them
// from host-local: a default route per family listed (through that family's gateway), and static routes
// (podman's `--route`, `dst` through `gw`, CNI 1.1's `priority` as the metric). An ipam section with no
// `routes` at all keeps ctrnet's older rule: a default route through every gateway. Shared by the native
// bridge and macvlan/ipvlan drivers.
import type { Netlink } from "../netlink/index.ts";

export interface IpamStaticRoute {
  dst: string;
  gw: string;
  metric?: number;
}

interface RouteEntry {
  dst?: unknown;
  gw?: unknown;
  priority?: unknown;
}

function entries(ipam: unknown): RouteEntry[] | undefined {
  const routes = (ipam as { routes?: unknown } | undefined)?.routes;
  return Array.isArray(routes) ? (routes as RouteEntry[]) : undefined;
}

const isDefault = (dst: string) => dst === "0.0.0.0/0" || dst === "::/0";

/** The gateways that get a default route: all of them unless the ipam section's routes leave a family out. */
export function defaultRouteGateways(ipam: unknown, gateways: readonly string[]): string[] {
  const routes = entries(ipam);
  if (routes === undefined) return [...gateways];
  const families = new Set(routes.flatMap((r) => (typeof r?.dst === "string" && isDefault(r.dst) ? [r.dst.includes(":") ? 6 : 4] : [])));
  return gateways.filter((gw) => families.has(gw.includes(":") ? 6 : 4));
}

/** The metric of the default routes (podman's `metric` option: the default entries' `priority`). */
export function defaultRouteMetric(ipam: unknown): number | undefined {
  const entry = (entries(ipam) ?? []).find((r) => typeof r?.dst === "string" && isDefault(r.dst) && typeof r.priority === "number");
  return entry?.priority as number | undefined;
}

/** The ipam section's routes that are not default routes and name a gateway. */
export function staticRoutesOf(ipam: unknown): IpamStaticRoute[] {
  return (entries(ipam) ?? []).flatMap((r) => {
    if (typeof r?.dst !== "string" || typeof r.gw !== "string" || isDefault(r.dst)) return [];
    return [{ dst: r.dst, gw: r.gw, ...(typeof r.priority === "number" ? { metric: r.priority } : {}) }];
  });
}

/**
 * Adds the static routes of the container's addresses' families inside its netns, on its interface (a
 * route whose gateway the interface cannot reach fails, as with podman's netavark).
 */
export function addStaticRoutes(container: Netlink, ifname: string, routes: readonly IpamStaticRoute[], addresses: readonly string[]): IpamStaticRoute[] {
  const families = new Set(addresses.map((a) => (a.includes(":") ? 6 : 4)));
  const added = routes.filter((r) => families.has(r.gw.includes(":") ? 6 : 4));
  for (const r of added) container.routeAdd({ dst: r.dst, gateway: r.gw, dev: ifname, ...(r.metric !== undefined ? { metric: r.metric } : {}) });
  return added;
}

/**
 * A plugin result's routes: a default route per gateway, then the static routes set, their metric as
 * CNI 1.1's `priority` (the wire format leaves it out of older versions' results).
 */
export function resultRoutes(gateways: readonly string[], routes: readonly IpamStaticRoute[] = []): { dst: string; gw: string; priority?: number }[] {
  return [
    ...gateways.map((gw) => ({ dst: gw.includes(":") ? "::/0" : "0.0.0.0/0", gw })),
    ...routes.map((r) => ({ dst: r.dst, gw: r.gw, ...(r.metric !== undefined ? { priority: r.metric } : {}) })),
  ];
}
