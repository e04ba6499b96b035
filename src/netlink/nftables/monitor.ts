// Notifications of nf_tables changes (the NFNLGRP_NFTABLES multicast group), decoded to typed events: what
// `nft monitor` shows, for a watcher that repairs ctrnet's table after someone else changed the ruleset.
import { isSysError } from "../../../ffi/errno.ts";
import { NETLINK_NETFILTER } from "../../../ffi/libc.ts";
import { attrValue } from "../attrs.ts";
import { NetlinkSocket, type SocketOptions } from "../socket.ts";
import { splitMessages } from "../wire.ts";
import { chainMessage } from "./msg-chain.ts";
import { genMessage } from "./msg-gen.ts";
import { ruleMessage } from "./msg-rule.ts";
import { elemListMessage, setMessage } from "./msg-set.ts";
import { tableMessage } from "./msg-table.ts";
import { NFNLGRP_NFTABLES, NFT_MSG, nftMessageOf } from "./nfnl.ts";
import { toChain, toRule, toTable, type Chain, type Rule, type Table } from "./objects.ts";
import { toElements, toSet, type NftSet, type SetElement, type SetRef } from "./sets.ts";

export type ChangeOp = "new" | "del";

export type NftEvent =
  | { kind: "table"; op: ChangeOp; table: Table }
  | { kind: "chain"; op: ChangeOp; chain: Chain }
  | { kind: "rule"; op: ChangeOp; rule: Rule }
  | { kind: "set"; op: ChangeOp; set: NftSet }
  | { kind: "element"; op: ChangeOp; set: SetRef; elements: SetElement[] }
  /** Ends the notifications of one committed batch. */
  | { kind: "generation"; id: number; pid?: number; process?: string }
  /** The kernel dropped notifications because they came faster than they were read: assume anything changed. */
  | { kind: "overrun" };

// Notifications may come in bursts (a `nft -f` of a whole ruleset); a larger queue makes overruns rare.
const RECEIVE_QUEUE_BYTES = 4 * 1024 * 1024;
const POLL_INTERVAL_MS = 50;

/** The events of one datagram; messages of other kinds are skipped. */
export function decodeNotifications(datagram: Uint8Array): NftEvent[] {
  const out: NftEvent[] = [];
  for (const m of splitMessages(datagram)) {
    const msg = nftMessageOf(m.type);
    const p = m.payload;
    switch (msg) {
      case NFT_MSG.NEWTABLE:
      case NFT_MSG.DELTABLE:
        out.push({ kind: "table", op: msg === NFT_MSG.NEWTABLE ? "new" : "del", table: toTable(tableMessage.decode(p, [])) });
        break;
      case NFT_MSG.NEWCHAIN:
      case NFT_MSG.DELCHAIN:
        out.push({ kind: "chain", op: msg === NFT_MSG.NEWCHAIN ? "new" : "del", chain: toChain(chainMessage.decode(p, [])) });
        break;
      case NFT_MSG.NEWRULE:
      case NFT_MSG.DELRULE:
        out.push({ kind: "rule", op: msg === NFT_MSG.NEWRULE ? "new" : "del", rule: toRule(ruleMessage.decode(p, [])) });
        break;
      case NFT_MSG.NEWSET:
      case NFT_MSG.DELSET:
        out.push({ kind: "set", op: msg === NFT_MSG.NEWSET ? "new" : "del", set: toSet(setMessage.decode(p, [])) });
        break;
      case NFT_MSG.NEWSETELEM:
      case NFT_MSG.DELSETELEM: {
        const { set, elements } = toElements(elemListMessage.decode(p, []));
        out.push({ kind: "element", op: msg === NFT_MSG.NEWSETELEM ? "new" : "del", set, elements });
        break;
      }
      case NFT_MSG.NEWGEN: {
        const attrs = genMessage.decode(p, []).attrs;
        const event: NftEvent = { kind: "generation", id: attrValue(attrs, "id") ?? 0 };
        const pid = attrValue(attrs, "procPid");
        if (pid !== undefined) event.pid = pid;
        const name = attrValue(attrs, "procName");
        if (name !== undefined) event.process = name;
        out.push(event);
        break;
      }
    }
  }
  return out;
}

export class NftMonitor {
  private constructor(private readonly socket: NetlinkSocket) {}

  /** Listens in `netns` when given; changes committed before open() are not reported. */
  static open(options: SocketOptions = {}): NftMonitor {
    const socket = NetlinkSocket.open({ ...options, protocol: NETLINK_NETFILTER });
    try {
      socket.growBuffers(0, RECEIVE_QUEUE_BYTES);
      socket.joinGroup(NFNLGRP_NFTABLES);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new NftMonitor(socket);
  }

  close(): void {
    this.socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Every event queued now, without waiting. */
  poll(): NftEvent[] {
    const out: NftEvent[] = [];
    for (;;) {
      let datagram: Uint8Array | null;
      try {
        datagram = this.socket.receiveFromKernel("nf_tables notifications", false);
      } catch (err) {
        if (!isSysError(err, "ENOBUFS")) throw err;
        out.push({ kind: "overrun" });
        continue;
      }
      if (datagram === null) return out;
      out.push(...decodeNotifications(datagram));
    }
  }

  /**
   * Events as they come, until `signal` aborts. The socket is read without blocking, every `intervalMs`
   * when idle: a blocking read would hold the JS thread, and with it timers and signal handlers.
   */
  async *events(signal?: AbortSignal, intervalMs = POLL_INTERVAL_MS): AsyncGenerator<NftEvent> {
    while (!signal?.aborted) {
      const events = this.poll();
      if (events.length === 0) await Bun.sleep(intervalMs);
      else yield* events;
    }
  }
}
