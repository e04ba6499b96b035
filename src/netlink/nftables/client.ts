// The typed nf_tables client: changes are queued and sent as one batch by commit(), so they apply together
// or not at all; reads are dumps decoded to typed objects. One socket, opened in the namespace it works on.
import { NETLINK_NETFILTER } from "../../../ffi/libc.ts";
import type { Codec } from "../attrs.ts";
import { isNetlinkError, NetlinkDumpInterruptedError, NetlinkMalformedError } from "../errors.ts";
import { NetlinkSocket, type SocketOptions } from "../socket.ts";
import { NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, type Writer } from "../wire.ts";
import { BatchAcks } from "./acks.ts";
import { chainMessage } from "./msg-chain.ts";
import { genMessage } from "./msg-gen.ts";
import { ruleMessage, type RuleMessage } from "./msg-rule.ts";
import { elemListMessage, setMessage } from "./msg-set.ts";
import { tableMessage, type TableMessage } from "./msg-table.ts";
import { frameBatch, NFT_MSG, nftType, NLM_F_APPEND, type BatchMessage, type NftFamily } from "./nfnl.ts";
import {
  chainMessageOf,
  genHeader,
  ruleMessageOf,
  ruleRefMessage,
  tableMessageOf,
  toChain,
  toRule,
  toTable,
  type Chain,
  type ChainRef,
  type ChainSpec,
  type Rule,
  type RuleRef,
  type RuleSpec,
  type Table,
  type TableRef,
  type TableSpec,
} from "./objects.ts";
import { elementsMessageOf, setMessageOf, setRefMessage, toElements, toSet, type NftSet, type SetElement, type SetRef, type SetSpec } from "./sets.ts";

export interface CommitOptions {
  /** Refuse the batch (NftBatchError ERESTART) unless the ruleset is still at this generation. */
  generation?: number;
}

export interface ObjectFilter {
  family?: NftFamily;
  table?: string;
}

const DUMP_ATTEMPTS = 3;
// A datagram, or the acknowledgements of this many messages, may not fit the default socket buffers.
const LARGE_BATCH_BYTES = 128 * 1024;
const LARGE_BATCH_MESSAGES = 64;
const BYTES_PER_ACK = 1024;

function describe(ref: { family: NftFamily; table?: string; name?: string }, kind: string, verb: string): string {
  return [verb, kind, ref.family, ref.table, ref.name].filter((p) => p !== undefined).join(" ");
}

export class Nftables {
  private queue: BatchMessage[] = [];
  private setId = 0;

  private constructor(private readonly socket: NetlinkSocket) {}

  /** With `netns`, the socket is created inside that namespace and every change applies there. */
  static open(options: SocketOptions = {}): Nftables {
    return new Nftables(NetlinkSocket.open({ ...options, protocol: NETLINK_NETFILTER }));
  }

  close(): void {
    this.socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** How many changes wait for commit(). */
  get pending(): number {
    return this.queue.length;
  }

  /** Drops the queued changes. */
  discard(): void {
    this.queue = [];
  }

  private push(msg: number, flags: number, operation: string, body: (w: Writer) => void): void {
    this.queue.push({ msg, flags, operation, body });
  }

  /** Creates the table; an existing one keeps what it holds, and takes the flags when they are given. */
  addTable(spec: TableSpec): void {
    const m = tableMessageOf(spec);
    this.push(NFT_MSG.NEWTABLE, NLM_F_CREATE, describe(spec, "table", "add"), (w) => tableMessage.encode(w, m));
  }

  /** Deletes the table and everything in it. */
  deleteTable(ref: TableRef): void {
    const m = tableMessageOf(ref);
    this.push(NFT_MSG.DELTABLE, 0, describe(ref, "table", "delete"), (w) => tableMessage.encode(w, m));
  }

  /** Creates the chain; an existing one keeps its rules, and a base chain takes the policy when it is given. */
  addChain(spec: ChainSpec): void {
    const m = chainMessageOf(spec);
    this.push(NFT_MSG.NEWCHAIN, NLM_F_CREATE, describe(spec, "chain", "add"), (w) => chainMessage.encode(w, m));
  }

  /** The chain must be empty and unreferenced. */
  deleteChain(ref: ChainRef): void {
    const m = chainMessageOf(ref);
    this.push(NFT_MSG.DELCHAIN, 0, describe(ref, "chain", "delete"), (w) => chainMessage.encode(w, m));
  }

  /** Deletes every rule of the chain. */
  flushChain(ref: ChainRef): void {
    const m: RuleMessage = {
      header: genHeader(ref.family),
      attrs: [
        { name: "table", value: ref.table },
        { name: "chain", value: ref.name },
      ],
    };
    this.push(NFT_MSG.DELRULE, 0, describe(ref, "chain", "flush"), (w) => ruleMessage.encode(w, m));
  }

  /** Appends the rule at the end of its chain, or right after the rule with handle `after`. */
  appendRule(spec: RuleSpec, after?: bigint): void {
    const m = ruleMessageOf(spec, after);
    const what = describe({ family: spec.family, table: spec.table, name: spec.chain }, "rule in", "append");
    this.push(NFT_MSG.NEWRULE, NLM_F_CREATE | NLM_F_APPEND, what, (w) => ruleMessage.encode(w, m));
  }

  /** Inserts the rule at the start of its chain, or right before the rule with handle `before`. */
  insertRule(spec: RuleSpec, before?: bigint): void {
    const m = ruleMessageOf(spec, before);
    const what = describe({ family: spec.family, table: spec.table, name: spec.chain }, "rule in", "insert");
    this.push(NFT_MSG.NEWRULE, NLM_F_CREATE, what, (w) => ruleMessage.encode(w, m));
  }

  deleteRule(ref: RuleRef): void {
    const m = ruleRefMessage(ref);
    const what = `${describe({ family: ref.family, table: ref.table, name: ref.chain }, "rule in", "delete")} handle ${ref.handle}`;
    this.push(NFT_MSG.DELRULE, 0, what, (w) => ruleMessage.encode(w, m));
  }

  /**
   * Creates the set or map (an existing one with the same name is an error: EEXIST). Returns the id that
   * names it to later messages of the same batch; its name does too.
   */
  addSet(spec: SetSpec): number {
    const id = (this.setId = (this.setId + 1) >>> 0 || 1);
    const m = setMessageOf(spec, id);
    const flags = NLM_F_CREATE | NLM_F_EXCL;
    this.push(NFT_MSG.NEWSET, flags, describe(spec, spec.data ? "map" : "set", "add"), (w) => setMessage.encode(w, m));
    return id;
  }

  deleteSet(ref: SetRef): void {
    const m = setRefMessage(ref);
    this.push(NFT_MSG.DELSET, 0, describe(ref, "set", "delete"), (w) => setMessage.encode(w, m));
  }

  /** One message for all of them. Adding an element that exists is an error (EEXIST). */
  addElements(set: SetRef, elements: readonly SetElement[]): void {
    const m = elementsMessageOf(set, elements);
    const what = `${describe(set, "set", "add")} ${elements.length === 1 ? "element" : `${elements.length} elements`}`;
    this.push(NFT_MSG.NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, what, (w) => elemListMessage.encode(w, m));
  }

  /** Deleting an element that does not exist is an error (ENOENT). */
  deleteElements(set: SetRef, elements: readonly SetElement[]): void {
    const m = elementsMessageOf(set, elements);
    const what = `${describe(set, "set", "delete")} ${elements.length === 1 ? "element" : `${elements.length} elements`}`;
    this.push(NFT_MSG.DELSETELEM, 0, what, (w) => elemListMessage.encode(w, m));
  }

  /** Deletes every element of the set. */
  flushSet(set: SetRef): void {
    const m = elementsMessageOf(set, null);
    this.push(NFT_MSG.DELSETELEM, 0, describe(set, "set", "flush"), (w) => elemListMessage.encode(w, m));
  }

  /**
   * Sends the queued changes as one batch and checks the kernel's answer to every message. On an error
   * nothing of the batch is applied (NftBatchError names the refused message); either way the queue is empty
   * afterwards.
   */
  commit(options: CommitOptions = {}): void {
    const messages = this.queue;
    this.queue = [];
    if (messages.length === 0) return;
    const batch = frameBatch(messages, () => this.socket.nextSeq(), options.generation);
    if (batch.datagram.length > LARGE_BATCH_BYTES || messages.length > LARGE_BATCH_MESSAGES) {
      this.socket.growBuffers(2 * batch.datagram.length, messages.length * BYTES_PER_ACK);
    }
    this.socket.send("nf_tables batch", batch.datagram);
    const acks = new BatchAcks(batch.messages);
    // The kernel processes a batch inside sendmsg(), so every answer is queued by now; once one refusal is
    // in, the rest is read without waiting (an aborted batch may leave some messages unanswered).
    while (!acks.complete) {
      const datagram = this.socket.receiveFromKernel("nf_tables batch", !acks.failed);
      if (datagram === null) break;
      acks.add(datagram);
    }
    acks.check();
  }

  /** The ruleset's generation: every committed batch, from any process, increments it. */
  generation(): number {
    const request = (w: Writer) => genMessage.encode(w, { header: genHeader(0), attrs: [] });
    const [gen] = this.socket.request("get generation", nftType(NFT_MSG.GETGEN), 0, request, (p) => genMessage.decode(p, []));
    const id = gen?.attrs.find((a) => a.name === "id")?.value;
    if (typeof id !== "number") throw new NetlinkMalformedError("NFT_MSG_NEWGEN without NFTA_GEN_ID");
    return id;
  }

  tables(family?: NftFamily): Table[] {
    const request: TableMessage = { header: genHeader(family ?? 0), attrs: [] };
    return this.dump("list tables", NFT_MSG.GETTABLE, tableMessage, request, toTable);
  }

  chains(filter: ObjectFilter = {}): Chain[] {
    const header = genHeader(filter.family ?? 0);
    const all = this.dump("list chains", NFT_MSG.GETCHAIN, chainMessage, { header, attrs: [] }, toChain);
    return all.filter((c) => filter.table === undefined || c.table === filter.table);
  }

  /** One chain, asked for by name (no dump); undefined when it or its table does not exist. */
  chain(ref: ChainRef): Chain | undefined {
    const m = chainMessageOf(ref);
    try {
      const [chain] = this.socket.request(describe(ref, "chain", "get"), nftType(NFT_MSG.GETCHAIN), 0, (w) => chainMessage.encode(w, m), (p) => toChain(chainMessage.decode(p, [])));
      return chain;
    } catch (err) {
      if (isNetlinkError(err, "ENOENT")) return undefined;
      throw err;
    }
  }

  /** The kernel filters by table and chain itself. */
  rules(filter: ObjectFilter & { chain?: string } = {}): Rule[] {
    const header = genHeader(filter.family ?? 0);
    const attrs: { name: "table" | "chain"; value: string }[] = [];
    if (filter.table !== undefined) attrs.push({ name: "table", value: filter.table });
    if (filter.chain !== undefined) attrs.push({ name: "chain", value: filter.chain });
    return this.dump("list rules", NFT_MSG.GETRULE, ruleMessage, { header, attrs }, toRule);
  }

  /** With a family, the kernel filters by table itself; without one it would look for the table in family 0. */
  sets(filter: ObjectFilter = {}): NftSet[] {
    const header = genHeader(filter.family ?? 0);
    const byKernel = filter.family !== undefined && filter.table !== undefined;
    const attrs: { name: "table"; value: string }[] = byKernel ? [{ name: "table", value: filter.table! }] : [];
    const all = this.dump("list sets", NFT_MSG.GETSET, setMessage, { header, attrs }, toSet);
    return all.filter((s) => filter.table === undefined || s.table === filter.table);
  }

  /** Throws NetlinkError ENOENT when there is no such set. */
  elements(set: SetRef): SetElement[] {
    const request = elementsMessageOf(set, null);
    const replies = this.dump(describe(set, "set", "list"), NFT_MSG.GETSETELEM, elemListMessage, request, toElements);
    return replies.flatMap((r) => r.elements);
  }

  /** A dump the kernel marks as interrupted is run again, a few times, before giving up. */
  private dump<M, T>(operation: string, msg: number, codec: Codec<M>, request: M, convert: (m: M) => T): T[] {
    for (let attempt = 1; ; attempt++) {
      try {
        const encode = (w: Writer) => codec.encode(w, request);
        return this.socket.request(operation, nftType(msg), NLM_F_DUMP, encode, (p) => convert(codec.decode(p, [])));
      } catch (err) {
        if (!(err instanceof NetlinkDumpInterruptedError) || attempt === DUMP_ATTEMPTS) throw err;
      }
    }
  }
}
