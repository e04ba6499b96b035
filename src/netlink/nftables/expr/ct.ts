// ct: load conntrack state of the packet's connection (state, mark, direction, ...) or set it (mark).
import { be32, u8, type UnknownAttr } from "../../attrs.ts";
import { exprModule, nameOf, need, numberOf, present } from "./module.ts";

// enum nft_ct_keys, in order.
const KEYS = [
  "state", "direction", "status", "mark", "secmark", "expiration", "helper", "l3protocol", "src", "dst", "protocol",
  "proto_src", "proto_dst", "labels", "pkts", "bytes", "avgpkt", "zone", "eventmask", "src_ip", "dst_ip", "src_ip6",
  "dst_ip6", "id",
] as const;
export type CtKey = (typeof KEYS)[number];

const DIRECTIONS = ["original", "reply"] as const;
export type CtDirection = (typeof DIRECTIONS)[number];

/** NF_CT_STATE_* bits of `ct state`, as loaded (host byte order, 4 bytes). */
export const CT_STATE = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 } as const;
/** Values of `ct direction` (IP_CT_DIR_*), one byte. */
export const CT_DIRECTION = { original: 0, reply: 1 } as const;

/** Exactly one of dreg (load) and sreg (set); `direction` picks a tuple for the keys that have two. */
export interface CtExpr {
  type: "ct";
  key: CtKey;
  dreg?: number;
  sreg?: number;
  direction?: CtDirection;
  unknown?: UnknownAttr[];
}

export const ct = exprModule(
  "ct",
  { dreg: [1, be32], key: [2, be32], direction: [3, u8], sreg: [4, be32] },
  (e: CtExpr) =>
    present([
      ["key", numberOf(KEYS, e.key)],
      ["dreg", e.dreg],
      ["direction", e.direction === undefined ? undefined : numberOf(DIRECTIONS, e.direction)],
      ["sreg", e.sreg],
    ]),
  (a) => {
    const e: Omit<CtExpr, "unknown"> = { type: "ct", key: nameOf(KEYS, need(a, "key", "ct"), "ct key") };
    for (const x of a) {
      if (x.name === "dreg" || x.name === "sreg") e[x.name] = x.value;
      if (x.name === "direction") e.direction = nameOf(DIRECTIONS, x.value, "ct direction");
    }
    return e;
  },
);
