// Which network namespace a hook call configures. The runtime has made the container's namespaces by
// createRuntime; ctrnet keeps and configures a new netns through the container's pid, configures an
// existing one config.json joins, and leaves alone one that already belongs to a ctrnet container:
// a container that joins another's netns shares its network and gets none of its own, as nerdctl's
// hook does for `--net container:…`.
import { statSync } from "../../ffi/fs.ts";
import { UsageError } from "../errors.ts";
import type { NetMode } from "../state/index.ts";
import type { BundleConfig, OciState } from "../schema/oci.ts";

export type HookTarget =
  /**
   * A new netns the runtime made: kept through /proc/PID/ns/net. `via` reaches the same netns while the
   * container's own /proc entries are closed (crun: the createContainer hook's process, see rendezvous.ts).
   */
  | { kind: "adopt"; pid: number; via?: string }
  /** An existing netns config.json joins, of no ctrnet container: configured, never removed by ctrnet. */
  | { kind: "join"; path: string }
  /** The netns of ctrnet container `owner`: nothing to do. */
  | { kind: "shared"; owner: string }
  /** host, ns:PATH, container:ID: the mode itself says where the network is; no netns from the runtime. */
  | { kind: "mode" };

export interface KnownNetns {
  id: string;
  path: string;
}

function nsIdentity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** The network entry of config.json's linux.namespaces: undefined when the container keeps the runtime's netns. */
export function networkNamespace(config: BundleConfig): { path?: string } | undefined {
  const entry = config.linux?.namespaces?.find((ns) => ns.type === "network");
  if (!entry) return undefined;
  return entry.path ? { path: entry.path } : {};
}

/**
 * `known` lists the netns of ctrnet's containers; asked for last, once the input has passed every check.
 * `holder` is a process in the container's netns to reach it through (see rendezvous.ts).
 */
export function hookTarget(state: OciState, config: BundleConfig, mode: NetMode, known: () => readonly KnownNetns[], holder?: number): HookTarget {
  if (!["bridge", "none", "slirp4netns", "pasta"].includes(mode.kind)) return { kind: "mode" };
  const ns = networkNamespace(config);
  if (!ns) {
    throw new UsageError(
      `container "${state.id}" has no network namespace of its own (config.json's linux.namespaces has no "network" entry): add {"type": "network"}, or use network mode host`,
    );
  }
  let path: string;
  let target: HookTarget;
  if (ns.path !== undefined) {
    path = ns.path;
    target = { kind: "join", path };
  } else {
    if (!state.pid) throw new UsageError(`invalid OCI state on stdin: pid: missing; the ${state.status} container's process is needed to reach its network namespace`);
    if (holder === undefined) {
      path = `/proc/${state.pid}/ns/net`;
      target = { kind: "adopt", pid: state.pid };
    } else {
      path = `/proc/${holder}/ns/net`;
      target = { kind: "adopt", pid: state.pid, via: path };
    }
  }
  const identity = nsIdentity(path);
  if (identity === undefined) throw new UsageError(`network namespace ${path} of container "${state.id}" does not exist`);
  if (identity === nsIdentity("/proc/self/ns/net")) {
    throw new UsageError(`container "${state.id}" would be configured in the runtime's own network namespace (${path}); give it a network namespace of its own`);
  }
  // The container's own record is no other owner: a repeated call finds the netns it kept the first time.
  const owner = known().find((k) => k.id !== state.id && nsIdentity(k.path) === identity);
  return owner ? { kind: "shared", owner: owner.id } : target;
}

/**
 * True when a record of this id describes what this call would make, i.e. the call was made before. In a
 * mode without a netns from the runtime there is nothing to tell an old record from a new one by.
 */
export function sameNetns(recordNetns: string | undefined, target: HookTarget): boolean {
  if (target.kind === "mode") return true;
  if (target.kind === "shared" || recordNetns === undefined) return false;
  const wanted = nsIdentity(target.kind === "adopt" ? (target.via ?? `/proc/${target.pid}/ns/net`) : target.path);
  return wanted !== undefined && nsIdentity(recordNetns) === wanted;
}
