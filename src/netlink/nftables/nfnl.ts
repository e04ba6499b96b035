// The nfnetlink byte layer for nf_tables: struct nfgenmsg, message types (subsystem << 8 | message), address
// families, and the batch framing (NFNL_MSG_BATCH_BEGIN ... END) that makes a list of changes one transaction.
import { attrTable, be32, encodeAttrs } from "../attrs.ts";
import type { StructCodec } from "../body.ts";
import { NLM_F_ACK, NLM_F_REQUEST, Writer } from "../wire.ts";

export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
export const NFNETLINK_V0 = 0;
/** The multicast group nf_tables announces every committed change on. */
export const NFNLGRP_NFTABLES = 7;

export const NLM_F_REPLACE = 0x100;
export const NLM_F_APPEND = 0x800;

export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  DELCHAIN: 5,
  NEWRULE: 6,
  GETRULE: 7,
  DELRULE: 8,
  NEWSET: 9,
  GETSET: 10,
  DELSET: 11,
  NEWSETELEM: 12,
  GETSETELEM: 13,
  DELSETELEM: 14,
  NEWGEN: 15,
  GETGEN: 16,
} as const;
export type NftMsg = (typeof NFT_MSG)[keyof typeof NFT_MSG];

/** The nlmsg_type of an nf_tables message. */
export function nftType(msg: number): number {
  return (NFNL_SUBSYS_NFTABLES << 8) | msg;
}

const MSG_NAMES = new Map<number, string>(Object.entries(NFT_MSG).map(([name, n]) => [nftType(n), `NFT_MSG_${name}`]));
MSG_NAMES.set(NFNL_MSG_BATCH_BEGIN, "NFNL_MSG_BATCH_BEGIN");
MSG_NAMES.set(NFNL_MSG_BATCH_END, "NFNL_MSG_BATCH_END");

/** NFT_MSG_NEWRULE for the type of an NFT_MSG_NEWRULE message; a number for types outside the table. */
export function nftMessageName(type: number): string {
  return MSG_NAMES.get(type) ?? `nfnetlink type 0x${type.toString(16)}`;
}

/** The part of nlmsg_type below the subsystem: NFT_MSG_* for nf_tables messages. */
export function nftMessageOf(type: number): number | null {
  return type >> 8 === NFNL_SUBSYS_NFTABLES ? type & 0xff : null;
}

// NFPROTO_* (linux/netfilter.h)
export const NFPROTO = { unspec: 0, inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 } as const;
export type NftFamily = Exclude<keyof typeof NFPROTO, "unspec">;

export function familyNumber(family: NftFamily): number {
  return NFPROTO[family];
}

export function familyName(n: number): NftFamily | null {
  for (const [name, value] of Object.entries(NFPROTO)) if (value === n && name !== "unspec") return name as NftFamily;
  return null;
}

export interface NfGenMsg {
  family: number;
  version: number;
  /** The subsystem for batch messages, otherwise 0 (and the kernel's generation id, truncated, in replies). */
  resId: number;
}

export const nfgenmsg: StructCodec<NfGenMsg> = {
  name: "nfgenmsg",
  size: 4,
  encode(w, h) {
    w.u8(h.family);
    w.u8(h.version);
    w.bytes(Uint8Array.of(h.resId >>> 8, h.resId & 0xff));
  },
  decode: (view) => ({ family: view.getUint8(0), version: view.getUint8(1), resId: view.getUint16(2, false) }),
};

const BATCH = attrTable("nfnl batch", { genId: [1, be32] });

/** One nf_tables message of a batch, before it is given a sequence number. */
export interface BatchMessage {
  /** NFT_MSG_* */
  msg: number;
  /** NLM_F_* beyond NLM_F_REQUEST and NLM_F_ACK, which every batched message carries. */
  flags: number;
  /** Writes the body: nfgenmsg, then the attributes. */
  body: (w: Writer) => void;
  /** Names the change in errors, e.g. `add rule inet ctrnet forward`. */
  operation: string;
}

/** Where each message of a framed batch sits, so a reply (by its sequence number) names what failed. */
export interface FramedMessage {
  seq: number;
  type: number;
  operation: string;
  /** The kernel answers this message with an acknowledgement when the batch is processed. */
  acked: boolean;
}

export interface FramedBatch {
  datagram: Uint8Array;
  messages: FramedMessage[];
}

/**
 * BEGIN, the messages, END in one datagram. `nextSeq` numbers each message. With `genId`, the kernel refuses
 * the whole batch (ERESTART) unless its ruleset generation is still that one.
 */
export function frameBatch(messages: readonly BatchMessage[], nextSeq: () => number, genId?: number): FramedBatch {
  const w = new Writer(1024);
  const framed: FramedMessage[] = [];
  const batchHeader = { family: 0, version: NFNETLINK_V0, resId: NFNL_SUBSYS_NFTABLES };

  const begin = nextSeq();
  w.message({ type: NFNL_MSG_BATCH_BEGIN, flags: NLM_F_REQUEST, seq: begin, pid: 0 }, () => {
    nfgenmsg.encode(w, batchHeader);
    if (genId !== undefined) encodeAttrs(w, BATCH, [{ name: "genId", value: genId }]);
  });
  framed.push({ seq: begin, type: NFNL_MSG_BATCH_BEGIN, operation: "begin batch", acked: false });

  for (const m of messages) {
    const seq = nextSeq();
    const type = nftType(m.msg);
    w.message({ type, flags: NLM_F_REQUEST | NLM_F_ACK | m.flags, seq, pid: 0 }, () => m.body(w));
    framed.push({ seq, type, operation: m.operation, acked: true });
  }

  const end = nextSeq();
  w.message({ type: NFNL_MSG_BATCH_END, flags: NLM_F_REQUEST, seq: end, pid: 0 }, () => nfgenmsg.encode(w, batchHeader));
  framed.push({ seq: end, type: NFNL_MSG_BATCH_END, operation: "end batch", acked: false });
  return { datagram: w.finish(), messages: framed };
}
