// meta: load packet metadata (interface names, mark, protocols) into a register, or set it from one.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { exprModule, nameOf, need, numberOf, present } from "./module.ts";

// enum nft_meta_keys, in order.
const KEYS = [
  "len", "protocol", "priority", "mark", "iif", "oif", "iifname", "oifname", "iiftype", "oiftype", "skuid", "skgid",
  "nftrace", "rtclassid", "secmark", "nfproto", "l4proto", "bri_iifname", "bri_oifname", "pkttype", "cpu",
  "iifgroup", "oifgroup", "cgroup", "prandom", "secpath", "iifkind", "oifkind", "bri_iifpvid", "bri_iifvproto",
  "time_ns", "time_day", "time_hour", "sdif", "sdifname", "bri_broute",
] as const;
export type MetaKey = (typeof KEYS)[number];

/** Exactly one of dreg (load) and sreg (set). */
export interface MetaExpr {
  type: "meta";
  key: MetaKey;
  dreg?: number;
  sreg?: number;
  unknown?: UnknownAttr[];
}

export const meta = exprModule(
  "meta",
  { dreg: [1, be32], key: [2, be32], sreg: [3, be32] },
  (e: MetaExpr) =>
    present([
      ["key", numberOf(KEYS, e.key)],
      ["dreg", e.dreg],
      ["sreg", e.sreg],
    ]),
  (a) => {
    const e: Omit<MetaExpr, "unknown"> = { type: "meta", key: nameOf(KEYS, need(a, "key", "meta"), "meta key") };
    for (const x of a) if (x.name === "dreg" || x.name === "sreg") e[x.name] = x.value;
    return e;
  },
);
