// The one place that turns a network mode into a driver (netavark's get_network_driver).
import { join } from "node:path";
import { releaseRootlessNetns, type RootlessNetnsPaths } from "../rootless/netns.ts";
import type { NetMode } from "../state/index.ts";
import { type CniDriverEnv } from "./cni/args.ts";
import { cniDriver } from "./cni/driver.ts";
import type { NetworkDriver } from "./driver.ts";
import { PASTA_FEATURES_FILE, pastaDriver } from "./pasta/driver.ts";
import { forwarderPublisher } from "./portfwd/publisher.ts";
import { slirp4netnsDriver } from "./slirp4netns/driver.ts";

/** What drivers need of a command's context (the lifecycle's Context is one). */
export interface DriverEnv extends CniDriverEnv {
  readonly rootless: boolean;
  /** Where a rootless user's bridges live. */
  readonly rootlessNetns: RootlessNetnsPaths;
}

/** A rootless user's bridge networks are inside the rootless netns: the forwarder carries ports there. */
function rootlessBridge(env: DriverEnv): NetworkDriver {
  const netns = env.rootlessNetns;
  const inUse = async () => (await env.cni.cachedAttachments()).length > 0;
  return cniDriver(env, forwarderPublisher(() => netns.netns), () => releaseRootlessNetns(netns, inUse));
}

/**
 * bridge: CNI networks (the default network or named ones); slirp4netns and pasta: their own user-mode
 * network.
 * none, host, ns:PATH and container:ID have no driver: nothing is set up beyond the netns itself.
 */
export function driverFor(mode: NetMode, env: DriverEnv): NetworkDriver | undefined {
  switch (mode.kind) {
    case "bridge":
      return env.rootless ? rootlessBridge(env) : cniDriver(env, undefined);
    case "slirp4netns":
      return slirp4netnsDriver(mode.options, join(env.runtimeDir, "slirp4netns-features.json"));
    case "pasta":
      return pastaDriver(mode.options, join(env.runtimeDir, PASTA_FEATURES_FILE));
    default:
      return undefined;
  }
}

/** gc: what drivers share between containers (a rootless user's netns) goes when none needs it. */
export async function releaseShared(env: DriverEnv): Promise<unknown[]> {
  return (await driverFor({ kind: "bridge" }, env)?.release?.()) ?? [];
}
