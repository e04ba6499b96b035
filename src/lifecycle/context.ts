// Where everything lives for this invocation, resolved once from flags, then env, then the defaults for
// root or a rootless user. Every command that touches state builds one and passes it down, so tests can
// point the whole tool at temporary directories without touching the machine's own.
import { join } from "node:path";
import { createCniRuntime, type CniRuntime, defaultCacheDir, defaultConfigDirs, rootlessCniRuntime } from "../drivers/cni/index.ts";
import { PASTA_FEATURES_FILE } from "../drivers/pasta/driver.ts";
import { hostLookup } from "../drivers/slirp4netns/host-lookup.ts";
import { parseSlirp4netnsOptions } from "../drivers/slirp4netns/options.ts";
import { hostUid } from "../identity.ts";
import { defaultNetnsDir } from "../netns/index.ts";
import { restartWayOut, type RootlessNetnsPaths, rootlessNetnsPaths, type StartWayOut, withRootlessNetns } from "../rootless/netns.ts";
import { rootlessNetnsAccess } from "../rootless/netns-exec.ts";
import { openState, runtimeDir, type ContainerState } from "../state/index.ts";
import { configuredPastaOptions, rootlessNetworkCmd } from "./mode.ts";
import { rebuilder } from "./rebuild.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface ContextOptions {
  /** Runtime state (database, locks, helper files). Flag --root, env CTRNET_ROOT. */
  root?: string;
  /** Persistent netns files. Flag --netns-dir, env CTRNET_NETNS_DIR. */
  netnsDir?: string;
  /** Network configurations ctrnet reads and writes. Flag --cni-config-dir, env CTRNET_CNI_CONFIG_DIR. */
  cniConfigDir?: string;
  /** Searched for plugins before /usr/lib/cni and /opt/cni/bin. Flag --cni-plugin-dir, env CTRNET_CNI_PLUGIN_DIR (colon-separated). */
  cniPluginDirs?: string[];
  /** CNI result cache and IPAM state. Flag --cni-cache-dir, env CTRNET_CNI_CACHE_DIR. */
  cniCacheDir?: string;
  /**
   * Options of the rootless netns's way out, e.g. ["cidr=10.0.3.0/24"] for slirp4netns, ["-a", "10.0.2.5"]
   * for pasta. Env CTRNET_ROOTLESS_NETNS_OPTIONS (comma-separated).
   */
  rootlessNetnsOptions?: string[];
}

export interface Context {
  readonly rootless: boolean;
  readonly runtimeDir: string;
  readonly netnsDir: string;
  /** The directory network configurations are written to (and the first one read). */
  readonly cniConfigDir: string;
  readonly cni: CniRuntime;
  /** Where a rootless user's bridge networks live (see src/rootless/netns.ts); unused by root. */
  readonly rootlessNetns: RootlessNetnsPaths;
  /**
   * Rootless: starts the slirp4netns of the rootless netns again if it died while the namespace stays
   * (the helper supervisor calls it); true when it did.
   */
  restartRootlessWayOut(): Promise<boolean>;
  /** Rootless: fn under the rootless netns's lock, the namespace made first (with its way out) if it is not there. */
  withRootlessNetns<T>(fn: () => Promise<T>): Promise<T>;
  /** The variables that give a ctrnet started by this one (the helper supervisor) these same directories. */
  readonly childEnv: Readonly<Record<string, string>>;
  /** Opened on first use: commands that never touch container records never open the database. */
  state(): ContainerState;
  close(): void;
}

export function createContext(options: ContextOptions = {}, env: Env = process.env): Context {
  const uid = hostUid();
  const root = runtimeDir({ root: options.root ?? env.CTRNET_ROOT, env, uid });
  const cniConfigDir = options.cniConfigDir ?? env.CTRNET_CNI_CONFIG_DIR ?? defaultConfigDirs(env, uid)[0]!;
  const pluginDirs = options.cniPluginDirs ?? env.CTRNET_CNI_PLUGIN_DIR?.split(":").filter(Boolean) ?? [];
  const cacheDir = options.cniCacheDir ?? env.CTRNET_CNI_CACHE_DIR ?? defaultCacheDir(env, uid);
  const netnsDir = options.netnsDir ?? env.CTRNET_NETNS_DIR ?? defaultNetnsDir();
  const slirpOptions = options.rootlessNetnsOptions ?? env.CTRNET_ROOTLESS_NETNS_OPTIONS?.split(",").filter(Boolean) ?? [];
  const rootlessNetns = rootlessNetnsPaths(root, netnsDir);
  // The state root names this ctrnet: two with different roots never collect each other's attachments.
  const cniOptions = { configDirs: [cniConfigDir], pluginDirs, cacheDir, owner: `ctrnet:${root}`, stateRoot: root };
  // The rootless netns's way out, as CTRNET_ROOTLESS_NETWORK_CMD says (podman's default_rootless_network_cmd):
  // slirp4netns on tap0 with -c and a ready fd, or pasta; its options are read when it starts, and the code
  // that starts it loads then (root never does).
  const startWayOut: StartWayOut = async (netnsPath, onSpawn, program) => {
    if ((program ?? rootlessNetworkCmd(env)) === "pasta") {
      // podman's rootless netns pasta takes containers.conf's pasta_options too (rootlessnetns's setupPasta
      // through pasta.Setup); CTRNET_ROOTLESS_NETNS_OPTIONS, ctrnet's own, come after them and win
      const { pastaWayOut } = await import("../drivers/pasta/way-out.ts");
      return pastaWayOut([...configuredPastaOptions(env), ...slirpOptions], join(root, "rootless-netns-pasta.pid"), join(root, PASTA_FEATURES_FILE))(netnsPath, onSpawn);
    }
    const options = parseSlirp4netnsOptions(slirpOptions, hostLookup);
    const { startSlirp4netns } = await import("../drivers/slirp4netns/start.ts");
    const slirp = await startSlirp4netns({ netnsPath, options, exitFd: false, onSpawn: (pid) => onSpawn(pid, "slirp4netns") });
    return { ...slirp, program: "slirp4netns" };
  };
  const cni = () => {
    if (uid === 0) return createCniRuntime(cniOptions);
    return rootlessCniRuntime(cniOptions, rootlessNetnsAccess(rootlessNetns, startWayOut, { netnsDir, cacheDir }));
  };
  let state: ContainerState | undefined;
  const runtime = cni();
  return {
    rootless: uid !== 0,
    runtimeDir: root,
    netnsDir,
    cniConfigDir,
    cni: runtime,
    rootlessNetns,
    restartRootlessWayOut: () => (uid === 0 ? Promise.resolve(false) : restartWayOut(rootlessNetns, startWayOut)),
    withRootlessNetns: (fn) => withRootlessNetns(rootlessNetns, startWayOut, fn),
    childEnv: {
      CTRNET_ROOT: root,
      CTRNET_NETNS_DIR: netnsDir,
      CTRNET_CNI_CONFIG_DIR: cniConfigDir,
      CTRNET_CNI_PLUGIN_DIR: pluginDirs.join(":"),
      CTRNET_CNI_CACHE_DIR: cacheDir,
      CTRNET_ROOTLESS_NETNS_OPTIONS: slirpOptions.join(","),
    },
    state() {
      // a damaged database is replaced by one holding what the system still says about its containers
      state ??= openState({ root }, rebuilder({ runtimeDir: root, cni: runtime }));
      return state;
    },
    close() {
      state?.close();
      state = undefined;
    },
  };
}
