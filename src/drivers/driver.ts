// The one shape of every way of giving a container a network (netavark's NetworkDriver): validate before
// anything is made, setup returning ctrnet's neutral NetworkStatus (undoing its own partial work before it
// throws), teardown going on past errors and returning all of them. The lifecycle picks a driver with
// driverFor (select.ts) and never looks at a network mode itself.
import type { NetworkStatus } from "../schema/network-status.ts";
import type { PortMapping } from "../schema/ports.ts";
import type { ContainerRecord, HelperKind, NetworkAttachment } from "../state/index.ts";

export interface HelperHandle {
  pid: number;
  stop(): Promise<void>;
}

/**
 * Where a driver writes down the processes it starts for a container (the lifecycle keeps them in the
 * container's state, so a later `rm` or `gc` in another process can stop them).
 */
export interface HelperRegistry {
  /** The pid, the moment the process exists (before it is ready). */
  spawned(kind: HelperKind, pid: number): void;
  /** This process's handle on it, once it is ready. */
  started(kind: HelperKind, handle: HelperHandle): void;
  /** Stops the container's helper of this kind, by handle or by pid; every error. */
  stop(kind: HelperKind): Promise<unknown[]>;
  /** slirp4netns's API socket for this container. */
  apiSocket(): string;
}

/** Everything one driver call needs (netavark's DriverInfo). */
export interface DriverTarget {
  rec: ContainerRecord;
  /** The network being set up or torn down, and its interface name inside the netns. */
  attachment: NetworkAttachment;
  /** Where the netns is reached; undefined at teardown when it is gone (only host-side state is released). */
  netnsPath: string | undefined;
  /** The published ports this network carries (publishedOn in container/ports.ts decides). */
  ports: readonly PortMapping[];
  /** Addresses to ask for (a --ip, or those held across a reload) and the MAC. */
  ips?: readonly string[];
  mac?: string;
  /** The helpers die with this process (`ctrnet run`); otherwise they run until `rm` stops them. */
  tied: boolean;
  helpers: HelperRegistry;
}

/** What a request asks of a network, checked by validate before anything is made. */
export interface DriverRequest {
  attachment: NetworkAttachment;
  ports: readonly PortMapping[];
  /** The static addresses asked for on this network (--ip, --ip6, podman's several `ip=` of one network), in order. */
  ips?: readonly string[];
  mac?: string;
  aliases: readonly string[];
}

export interface NetworkDriver {
  /** Names the driver in messages, e.g. `cni` or `slirp4netns`. */
  readonly name: string;
  /** Whether networks of this driver can be connected, disconnected and reloaded on a live container. */
  readonly live: boolean;
  /**
   * Whether its publisher listens on the host ports itself (ctrnet's forwarder, slirp4netns). DNAT (CNI
   * portmap) listens on nothing, so a command that lives as long as the container holds them instead.
   */
  readonly listensOnHostPorts: boolean;
  /** The networks it sets up for the container: a CNI driver, the record's networks; slirp4netns, its tap. */
  attachments(rec: ContainerRecord): readonly NetworkAttachment[];
  /** Throws a UsageError for anything the driver cannot do, before anything is made. */
  validate(req: DriverRequest): Promise<void>;
  setup(target: DriverTarget): Promise<NetworkStatus>;
  /** status: what setup returned, or null when it never finished. */
  teardown(target: DriverTarget, status: NetworkStatus | null): Promise<unknown[]>;
  /**
   * True when tearing every network of the container down needs nothing inside its netns, and what they
   * made there goes with it (a veth pair: the kernel removes it with the netns). teardownContainer then
   * removes a netns ctrnet owns first, and the kernel's removal of the links runs beside the rest of the
   * teardown instead of holding it up (see detachVeth).
   */
  tearsDownFromHost?(rec: ContainerRecord): Promise<boolean>;
  /** What the driver shares between containers goes once none needs it; every error. */
  release?(): Promise<unknown[]>;
  /**
   * Starts a helper of the kind again, with the configuration the record keeps (options, ports), after
   * the one it had died: what the supervisor of helpers and `reload` call, for any driver whose helpers
   * outlive the command that started them (slirp4netns, pasta, ctrnet's forwarder). The dead one is
   * already forgotten; target is the container's first network, the one its ports are published on.
   */
  restartHelper?(target: DriverTarget, kind: HelperKind): Promise<void>;
  /**
   * The status of a network the record does not list but the driver knows from its options alone
   * (slirp4netns's tap), for /etc files and inspect.
   */
  fixedStatus?(rec: ContainerRecord): NetworkStatus;
}

/**
 * Publishes a container's ports from the host to its address on one network: ctrnet's forwarder, or
 * slirp4netns's add_hostfwd. (CNI's portmap plugin publishes inside the CNI ADD instead.)
 */
export interface PortPublisher {
  /** address: where ports lead; address6: the container's IPv6 address, where IPv6 host addresses lead if given. */
  publish(target: DriverTarget, address: string, address6?: string): Promise<void>;
  /** Every error. */
  unpublish(target: DriverTarget): Promise<unknown[]>;
}
