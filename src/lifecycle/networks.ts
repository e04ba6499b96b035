// A container's networks through their driver (drivers/select.ts picks it from the record's mode): set
// up in order, each status stored as it comes; torn down in reverse, going on past errors.
import { publishedOn } from "../container/ports.ts";
import type { DriverTarget, NetworkDriver } from "../drivers/driver.ts";
import { driverFor } from "../drivers/select.ts";
import { type ContainerRecord, staticMACOf, staticsOf } from "../state/index.ts";
import type { Reach } from "../container/dns-files.ts";
import type { NetworkStatus } from "../schema/network-status.ts";
import type { Context } from "./context.ts";
import { helperRegistry } from "./helpers.ts";

export function driverOf(ctx: Context, rec: ContainerRecord): NetworkDriver | undefined {
  return driverFor(rec.mode, ctx);
}

/**
 * How a container meets the world, from its record and driver alone: the statuses of its networks (those
 * the record lists, and one its driver knows from its options), and its reach: the host's own network
 * (no netns of its own), none (a netns ctrnet made and gave nothing), or isolated.
 */
export interface NetworkView {
  statuses: NetworkStatus[];
  reach: Reach;
}

export function networkView(ctx: Context, rec: ContainerRecord): NetworkView {
  const driver = driverOf(ctx, rec);
  const statuses = rec.networks.flatMap((n) => (n.status === null ? [] : [n.status]));
  const fixed = driver?.fixedStatus?.(rec);
  const reach: Reach = rec.netns === null ? "shared" : driver === undefined && rec.netns.owned ? "none" : "isolated";
  return { statuses: fixed ? [fixed, ...statuses] : statuses, reach };
}

export interface TargetOptions {
  ips?: readonly string[];
  mac?: string;
  tied?: boolean;
}

/** The driver call for the container's network at index (in the driver's attachment order). */
export function targetOf(ctx: Context, rec: ContainerRecord, driver: NetworkDriver, index: number, netnsPath: string | undefined, opts: TargetOptions = {}): DriverTarget {
  return {
    rec,
    attachment: driver.attachments(rec)[index]!,
    netnsPath,
    ports: publishedOn(rec, index),
    ...(opts.ips?.length ? { ips: opts.ips } : {}),
    ...(opts.mac !== undefined ? { mac: opts.mac } : {}),
    tied: opts.tied ?? false,
    helpers: helperRegistry(ctx, rec.id),
  };
}

export interface SetUpOptions {
  /** The helpers die with this process (`ctrnet run`). */
  tied: boolean;
}

/**
 * Every network of the container, in order, each with the addresses and MAC its attachment asked for; a
 * failure is left for the caller's teardown of the whole.
 */
export async function setUpNetworks(ctx: Context, rec: ContainerRecord, netnsPath: string, opts: SetUpOptions): Promise<ContainerRecord> {
  const driver = driverOf(ctx, rec);
  if (!driver) return rec;
  let current = rec;
  for (const [i, attachment] of driver.attachments(rec).entries()) {
    const asked = { ips: staticsOf(current, attachment), mac: staticMACOf(current, attachment) };
    const status = await driver.setup(targetOf(ctx, current, driver, i, netnsPath, { ...asked, tied: opts.tied }));
    current = ctx.state().setStatus(rec.id, attachment.network, status);
  }
  return current;
}

/**
 * Every network in reverse order, then what the driver shares between containers if this one was its
 * last user. netnsPath undefined: the netns is gone, and only host-side state is released. Every error.
 */
export async function tearDownNetworks(ctx: Context, rec: ContainerRecord, netnsPath: string | undefined): Promise<unknown[]> {
  const driver = driverOf(ctx, rec);
  if (!driver) return [];
  const errors: unknown[] = [];
  const attachments = driver.attachments(rec);
  for (let i = attachments.length - 1; i >= 0; i--) {
    errors.push(...(await driver.teardown(targetOf(ctx, rec, driver, i, netnsPath), attachments[i]!.status)));
  }
  if (driver.release) errors.push(...(await driver.release()));
  return errors;
}
