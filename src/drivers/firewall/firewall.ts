// ctrnet's firewall over nf_tables netlink: every change is one batch, applied whole or not at all, and no
// process is spawned. The table is made once (or rebuilt from the records after someone flushed it), then
// attaches and detaches only add and delete elements.
import { UsageError } from "../../errors.ts";
import { isNetlinkError, type SocketOptions } from "../../netlink/index.ts";
import * as nf from "../../netlink/nftables/index.ts";
import { type ElementGroup, type FirewallNetwork, networkElements, portElements, type PublishedPort } from "./elements.ts";
import { queueForwardAccepts, queueForwardRemoval } from "./forward.ts";
import { checkLegacyForward } from "./legacy.ts";
import { queueSkeleton, SETS, skeletonShape, TABLE } from "./ruleset.ts";

/** Everything the table holds: every network and published port on record. */
export interface FirewallState {
  networks: FirewallNetwork[];
  ports: PublishedPort[];
}

/** Read only when the table has to be made again (after `nft flush ruleset`), so attaches stay cheap. */
export type StateSource = () => FirewallState;

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class Firewall {
  private constructor(
    private readonly nft: nf.Nftables,
    /** In this process's netns: the one whose legacy iptables tables it can read. */
    private readonly own: boolean,
  ) {}

  /** In the netns given (the rootless netns, a test's), or in this process's. */
  static open(options: Pick<SocketOptions, "netns"> = {}): Firewall {
    return new Firewall(nf.Nftables.open(options), options.netns === undefined);
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
   * The table with every chain, set and rule it was made with. Elements are not checked: ctrnet's own
   * attaches and detaches change them all the time.
   */
  intact(): boolean {
    if (!this.present()) return false;
    const filter = { family: TABLE.family, table: TABLE.name };
    const chains = new Set(this.nft.chains(filter).map((c) => c.name));
    const sets = new Set(this.nft.sets(filter).map((s) => s.name));
    const skeleton = skeletonShape();
    return skeleton.chains.every((c) => chains.has(c)) && skeleton.sets.every((s) => sets.has(s)) && this.nft.rules(filter).length === skeleton.rules;
  }

  /** The ruleset's generation, for a rebuild that must not overwrite a change made after it looked. */
  generation(): number {
    return this.nft.generation();
  }

  /**
   * Replaces the whole table with one holding exactly these networks and ports, in one batch: packets see
   * the old table or the new one, never a half-made one. With `generation`, the kernel refuses the batch
   * (ERESTART) when any change was committed since that generation was read.
   */
  rebuild(networks: readonly FirewallNetwork[], ports: readonly PublishedPort[], options: { generation?: number } = {}): void {
    // add-then-delete makes the delete valid whether or not the table exists
    this.nft.addTable(TABLE);
    this.nft.deleteTable(TABLE);
    this.queueWhole({ networks: [...networks], ports: [...ports] });
    this.nft.commit(options);
  }

  /**
   * Makes the table from the records when it is gone (flushed from outside). False when another ctrnet
   * made it in the meantime: its sets exist, so this batch fails whole (EEXIST) and leaves its work alone.
   */
  private restore(state: FirewallState): boolean {
    this.queueWhole(state);
    try {
      this.nft.commit();
      return true;
    } catch (err) {
      if (isNetlinkError(err, "EEXIST")) return false;
      throw err;
    }
  }

  private queueWhole(state: FirewallState): void {
    queueSkeleton(this.nft);
    const seen = new Set<string>();
    for (const net of state.networks) {
      if (seen.has(net.bridge)) continue;
      seen.add(net.bridge);
      this.queueAdd(networkElements(net));
    }
    this.queueAdd(portElements(state.ports));
    queueForwardAccepts(this.nft, [...seen]);
  }

  /** The bridges set's elements; undefined when the set (or the whole table) is gone. */
  private bridges(): nf.SetElement[] | undefined {
    try {
      return this.nft.elements(SETS.bridges);
    } catch (err) {
      if (isNetlinkError(err, "ENOENT")) return undefined;
      throw err;
    }
  }

  /**
   * The network's subnets and bridge, unless a container before this one put them in already. With
   * `state`, a table flushed from outside is made again first, from the records and this network. On a
   * host whose iptables FORWARD policy is DROP, iptables-nft's chains get accept rules for the bridge
   * (forward.ts); iptables-legacy's make this throw, saying what to run (legacy.ts).
   */
  ensureNetwork(net: FirewallNetwork, state?: StateSource): void {
    if (this.own) checkLegacyForward([net.bridge], net.subnets.some((c) => c.includes(":")) ? ["ip", "ip6"] : ["ip"]);
    let held = this.bridges();
    if (held === undefined && state !== undefined) {
      const whole = state();
      if (this.restore({ ...whole, networks: [net, ...whole.networks] })) return;
      held = this.bridges();
      // a part of the table is missing (a set deleted by hand): only a whole rebuild mends it
      if (held === undefined) {
        const again = state();
        this.rebuild([net, ...again.networks], again.ports);
        return;
      }
    }
    const key = nf.ifname(net.bridge);
    // a FORWARD policy of DROP may have come since the network's first container (docker installed)
    const forward = queueForwardAccepts(this.nft, [net.bridge]);
    if (held?.some((e) => sameBytes(e.key, key))) {
      if (forward) this.nft.commit();
      return;
    }
    this.queueAdd(networkElements(net));
    try {
      this.nft.commit();
    } catch (err) {
      // another ctrnet attaching the network's first container at the same moment
      if (!isNetlinkError(err, "EEXIST") || !this.hasBridge(net.bridge)) throw err;
    }
  }

  /** The FORWARD accept rules of these bridges, where a DROP policy needs them and they are missing. */
  ensureForward(bridges: readonly string[]): number {
    const queued = queueForwardAccepts(this.nft, bridges);
    if (queued) this.nft.commit();
    return queued;
  }

  /** For `network rm`: whatever of the network's elements is there goes. */
  removeNetwork(net: FirewallNetwork): void {
    if (queueForwardRemoval(this.nft, [net.bridge])) this.nft.commit();
    this.deleteExisting(networkElements(net));
  }

  /** The whole table goes once no network is in it any more (the last native network was removed). */
  dropIfUnused(): void {
    if (!this.present() || this.nft.elements(SETS.bridges).length > 0) return;
    this.nft.deleteTable(TABLE);
    queueForwardRemoval(this.nft);
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

  /**
   * Idempotent: ports already gone are no error. With `state` (what the table holds without these ports),
   * a table flushed from outside is made again.
   */
  unpublish(ports: readonly PublishedPort[], state?: StateSource): void {
    const gone = this.deleteExisting(portElements(ports));
    if (gone && state !== undefined) this.restore(state());
  }

  /**
   * Every published port that DNATs to one of these container addresses goes, whatever its host port: for
   * a teardown that does not know what was published (an attach killed before it recorded its ports).
   * Returns how many went.
   */
  unpublishTo(addresses: readonly string[]): number {
    if (addresses.length === 0) return 0;
    const targets = addresses.map((a) => (a.includes(":") ? nf.ipv6(a) : nf.ipv4(a)));
    let count = 0;
    for (const set of [SETS.ports4, SETS.hostports4, SETS.ports6, SETS.hostports6]) {
      let held: nf.SetElement[];
      try {
        held = this.nft.elements(set);
      } catch (err) {
        if (isNetlinkError(err, "ENOENT")) return 0;
        throw err;
      }
      const going = held.filter((e) => {
        const data = e.data;
        return data instanceof Uint8Array && targets.some((t) => sameBytes(data.subarray(0, t.length), t));
      });
      if (going.length === 0) continue;
      this.nft.deleteElements(set, going.map((e) => ({ key: e.key })));
      count += going.length;
    }
    this.nft.commit();
    return count;
  }

  private queueAdd(groups: readonly ElementGroup[]): void {
    for (const g of groups) this.nft.addElements(g.set, g.elements);
  }

  private hasBridge(bridge: string): boolean {
    const key = nf.ifname(bridge);
    return (this.bridges() ?? []).some((e) => sameBytes(e.key, key));
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
   * what is there is deleted. True when the table is gone.
   */
  private deleteExisting(groups: readonly ElementGroup[]): boolean {
    if (groups.length === 0) return !this.present();
    for (const g of groups) this.nft.deleteElements(g.set, g.elements);
    try {
      this.nft.commit();
      return false;
    } catch (err) {
      if (!isNetlinkError(err, "ENOENT")) throw err;
    }
    if (!this.present()) return true;
    for (const g of groups) {
      const held = this.nft.elements(g.set);
      // an interval's start matched against starts only: the end of an adjacent subnet (10.89.0.0/24 ends at
      // 10.89.1.0) has the key of the next subnet's start
      const existing = g.elements.filter((e) => !e.intervalEnd && held.some((h) => !h.intervalEnd && sameBytes(h.key, e.key)));
      if (existing.length === 0) continue;
      // an interval goes with its end element
      const keep = new Set(existing);
      const withEnds = g.elements.filter((e, i) => keep.has(e) || (e.intervalEnd === true && keep.has(g.elements[i - 1]!)));
      this.nft.deleteElements(g.set, withEnds);
    }
    this.nft.commit();
    return false;
  }
}
