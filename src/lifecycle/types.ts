// What callers of the lifecycle hand in and get back.

export interface CreateRequest {
  id: string;
  name?: string;
  /** The --network value: bridge (default), NAME[,NAME…], none, host, ns:PATH, container:ID. */
  network?: string;
  /** -p specs, e.g. "8080:80/tcp". */
  ports?: string[];
  /** Static address and MAC, for the first network. */
  ip?: string;
  mac?: string;
  aliases?: string[];
  /** Configure this existing netns instead of creating one; ctrnet never removes it. */
  netnsPath?: string;
  /** Keep and configure the netns of this running process, as podman's setupNetNS does. */
  pid?: number;
  /**
   * How the netns of `pid` is kept: by a bind mount in the netns dir (the default), or only through
   * /proc/PID/ns/net while the process lives, for a caller that cannot mount (a hook inside a rootless
   * runtime's user namespace, which owns no mount namespace); ctrnet then never removes it.
   */
  keepNetns?: "mount" | "process";
  /**
   * With `pid` kept as "process": another path to the same netns, used while it is configured, for a
   * process whose own /proc/PID/ns cannot be opened yet (crun's container before it execs its program).
   * The record still names /proc/PID/ns/net, which is what later commands open.
   */
  netnsVia?: string;
  /**
   * With `netnsPath`: the process of the container that joins it (an OCI hook's state pid). gc tears the
   * container down once it is gone, as when a runtime failed after createRuntime and never ran poststop.
   */
  containerPid?: number;
}

export interface ConnectOptions {
  aliases?: string[];
  ip?: string;
  mac?: string;
}

export interface RemoveOptions {
  /** Unknown ids are no error, and the record goes even when part of the teardown failed. */
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
  /** Orphaned netns files of ctrnet that were removed. */
  netns: string[];
  /** Cached CNI attachments that no record held, removed by CNI GC, as network/container/ifname. */
  attachments: string[];
  /** Sockets of OCI hook waiters that are gone (a rootless crun's createRuntime leaves one), removed. */
  sockets: string[];
  /** Containers left alone because another ctrnet process is working on them. */
  busy: string[];
  /** What could not be cleaned up; gc went on past each. */
  errors: string[];
}
