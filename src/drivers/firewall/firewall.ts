// ctrnet's firewall over nf_tables netlink: every change is one batch, applied whole or not at all, and no
// process is spawned. The table is made once (or rebuilt from the records after someone flushed it), then
// attaches and detaches only add and delete elements.
import { UsageError } from "../../errors.ts";
import { isNetlinkError, type SocketOptions } from "../../netlink/index.ts";
import * as nf from "../../netlink/nftables/index.ts";
import { type ElementGroup, type FirewallNetwork, networkElements, portElements, type PublishedPort } from "./elements.ts";
import { queueSkeleton, SETS, TABLE } from "./ruleset.ts";

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class Firewall {
  private constructor(private readonly nft: nf.Nftables) {}

  /** In the netns given (the rootless netns, a test's), or in this process's. */
  static open(options: Pick<SocketOptions, "netns"> = {}): Firewall {
    return new Firewall(nf.Nftables.open(options));
  }

  close(): void {
    this.nft.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** False after `nft flush ruleset`, a firewalld reload or a reboot: the caller then rebuilds it. */
  present(): boolean {
    return this.nft.tables(TABLE.family).some((t) => t.name === TABLE.name);
  }

  /**
   * Replaces the whole table with one holding exactly these networks and ports, in one batch: packets see
   * the old table or the new one, never a half-made one.
   */
  rebuild(networks: readonly FirewallNetwork[], ports: readonly PublishedPort[]): void {
    // add-then-delete makes the delete valid whether or not the table exists
    this.nft.addTable(TABLE);
    this.nft.deleteTable(TABLE);
    queueSkeleton(this.nft);
    for (const net of networks) this.queueAdd(networkElements(net));
    this.queueAdd(portElements(ports));
    this.nft.commit();
  }

  /** The network's subnets and bridge, unless a container before this one put them in already. */
  ensureNetwork(net: FirewallNetwork): void {
    if (this.hasBridge(net.bridge)) return;
    this.queueAdd(networkElements(net));
    try {
      this.nft.commit();
    } catch (err) {
      // another ctrnet attaching the network's first container at the same moment
      if (!isNetlinkError(err, "EEXIST") || !this.hasBridge(net.bridge)) throw err;
    }
  }

  /** For `network rm`: whatever of the network's elements is there goes. */
  removeNetwork(net: FirewallNetwork): void {
    this.deleteExisting(networkElements(net));
  }

  /** The whole table goes once no network is in it any more (the last native network was removed). */
  dropIfUnused(): void {
    if (!this.present() || this.nft.elements(SETS.bridges).length > 0) return;
    this.nft.deleteTable(TABLE);
    try {
      this.nft.commit();
    } catch (err) {
      // another ctrnet dropped it, or added a network, in between: either way nothing is left to do
      if (!isNetlinkError(err, "ENOENT", "EBUSY")) throw err;
    }
  }

  /** Fails with a UsageError naming the port when one of them is published already; then adds none. */
  publish(ports: readonly PublishedPort[]): void {
    if (ports.length === 0) return;
    this.queueAdd(portElements(ports));
    try {
      this.nft.commit();
    } catch (err) {
      if (!isNetlinkError(err, "EEXIST")) throw err;
      const taken = this.findPublished(ports);
      const which = taken ? `${taken.hostIP ? `${taken.hostIP}:` : ""}${taken.hostPort}/${taken.protocol}` : "one of the ports";
      throw new UsageError(`host port ${which} is already published by another container`);
    }
  }

  /** Idempotent: ports already gone are no error. */
  unpublish(ports: readonly PublishedPort[]): void {
    this.deleteExisting(portElements(ports));
  }

  private queueAdd(groups: readonly ElementGroup[]): void {
    for (const g of groups) this.nft.addElements(g.set, g.elements);
  }

  private hasBridge(bridge: string): boolean {
    const key = nf.ifname(bridge);
    return this.nft.elements(SETS.bridges).some((e) => sameBytes(e.key, key));
  }

  private findPublished(ports: readonly PublishedPort[]): PublishedPort | undefined {
    for (const port of ports) {
      const [group] = portElements([port]);
      const key = group!.elements[0]!.key;
      if (this.nft.elements(group!.set).some((e) => sameBytes(e.key, key))) return port;
    }
    return undefined;
  }

  /**
   * One batch for all of them; when some are missing (ENOENT aborts the batch), the sets are read and only
   * what is there is deleted.
   */
  private deleteExisting(groups: readonly ElementGroup[]): void {
    if (groups.length === 0) return;
    for (const g of groups) this.nft.deleteElements(g.set, g.elements);
    try {
      this.nft.commit();
      return;
    } catch (err) {
      if (!isNetlinkError(err, "ENOENT")) throw err;
    }
    if (!this.present()) return;
    for (const g of groups) {
      const held = this.nft.elements(g.set);
      const existing = g.elements.filter((e) => !e.intervalEnd && held.some((h) => sameBytes(h.key, e.key)));
      if (existing.length === 0) continue;
      // an interval goes with its end element
      const keep = new Set(existing);
      const withEnds = g.elements.filter((e, i) => keep.has(e) || (e.intervalEnd === true && keep.has(g.elements[i - 1]!)));
      this.nft.deleteElements(g.set, withEnds);
    }
    this.nft.commit();
  }
}
