// What callers of the lifecycle hand in and get back.
import type { EtcOptions } from "../container/etc-options.ts";

export interface CreateRequest {
  id: string;
  name?: string;
  /** The --network value: bridge (default), NAME[,NAME…], none, host, ns:PATH, container:ID. */
  network?: string;
  /** -p specs, e.g. "8080:80/tcp". */
  ports?: string[];
  /** --expose specs, e.g. "90/udp": shown by inspect, published on free host ports with publishAll. */
  expose?: string[];
  /** podman's -P/--publish-all: every exposed port no -p covers goes to a free host port. */
  publishAll?: boolean;
  /**
   * --ip, --ip6 and --mac: static address and MAC on the first network, after its own (podman allows them
   * with one network only, which its CLI checks); ip6 is the IPv6 one when ip is IPv4 (--ip with --ip6).
   */
  ip?: string;
  ip6?: string;
  mac?: string;
  /** --alias (--network-alias): the aliases of every network, instead of their own (podman's). */
  aliases?: string[];
  /** podman's per-network options, each --network's by position (a list of networks in one has none). */
  networkOptions?: NetworkRequest[];
  /** Where its netns comes from; a new one by default. */
  netns?: NetnsRequest;
  /** What its /etc/resolv.conf and /etc/hosts say beyond its networks (--dns, --add-host, …), checked. */
  etc?: EtcOptions;
}

/** podman's `--network NAME:ip=…,ip6=…,mac=…,alias=…,interface_name=…` (its PerNetworkOptions). */
export interface NetworkRequest {
  /** Static addresses, either family, each subnet's in the order given. */
  ips?: string[];
  mac?: string;
  aliases?: string[];
  /** podman 5's interface_name=: the network's interface in the container (otherwise the next free ethN). */
  interfaceName?: string;
  /** podman 5's host_interface_name= (netavark 1.14): the name of the host end of a bridge network's veth pair. */
  hostInterfaceName?: string;
}

/** Where a container's netns comes from: the seeds' createNetNS, setupNetNS and joinNetNS. */
export type NetnsRequest =
  /** A new netns file in the netns dir, removed with the container. */
  | { kind: "create" }
  /** The netns of this running process, kept by a bind mount in the netns dir (`--pid`). */
  | { kind: "adopt"; pid: number; keep: "mount" }
  /**
   * The netns of this running process, kept only through /proc/PID/ns/net while it lives, for a caller
   * that cannot mount (a hook inside a rootless runtime's user namespace, which owns no mount
   * namespace); ctrnet never removes it. via: another path to the same netns, used while it is
   * configured, for a process whose own /proc/PID/ns cannot be opened yet (crun's container before it
   * execs its program); the record still names /proc/PID/ns/net, which is what later commands open.
   */
  | { kind: "adopt"; pid: number; keep: "process"; via?: string }
  /**
   * This existing netns (`--netns PATH`), configured and never removed. watchPid: the process of the
   * container that joins it (an OCI hook's state pid); gc tears the container down once it is gone, as
   * when a runtime failed after createRuntime and never ran poststop.
   */
  | { kind: "join"; path: string; watchPid?: number };

export interface ConnectOptions {
  aliases?: string[];
  ip?: string;
  /** The IPv6 address, when ip is the IPv4 one (--ip with --ip6). */
  ip6?: string;
  mac?: string;
}

export interface RemoveOptions {
  /**
   * Unknown ids are no error, the netns goes even when part of the teardown failed, and so does the
   * record unless something a retry could remove is still there (see leftBehind).
   */
  force?: boolean;
}

/** One interface's counters inside the container's netns (rtnetlink IFLA_STATS64). */
export interface InterfaceStats {
  interface: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  rxDropped: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

export interface GcReport {
  /** Containers whose records were torn down because their netns, process or creator was gone. */
  containers: string[];
  /** Containers that would have been torn down, kept because a process lives in their netns. */
  kept: { id: string; reason: string }[];
  /** Orphaned netns files of ctrnet that were removed. */
  netns: string[];
  /** Cached CNI attachments that no record held, removed by CNI GC, as network/container/ifname. */
  attachments: string[];
  /**
   * Address leases and iptables rules of containers ctrnet made that nothing else could remove (no record,
   * no cached attachment), found by their ids, e.g. `lease 10.89.0.5 of container c on network n`.
   */
  leftovers: string[];
  /** Sockets of OCI hook waiters that are gone (a rootless crun's createRuntime leaves one), removed. */
  sockets: string[];
  /** Containers left alone because another ctrnet process is working on them. */
  busy: string[];
  /** What could not be cleaned up; gc went on past each. */
  errors: string[];
}
