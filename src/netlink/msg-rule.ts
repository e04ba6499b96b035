// RTM_*RULE messages (policy routing rules, `ip rule`): struct fib_rule_hdr and the FRA_* attribute table.
import { attrTable, string, u32, type Attr } from "./attrs.ts";
import { bodyCodec, type Body, type StructCodec } from "./body.ts";
import { HOST_LITTLE_ENDIAN } from "./wire.ts";

export const RTM_NEWRULE = 32;
export const RTM_DELRULE = 33;
export const RTM_GETRULE = 34;

/** fib_rule_hdr.action: look the destination up in the table the rule names. */
export const FR_ACT_TO_TBL = 1;

export interface FibRuleHdr {
  family: number;
  dstLength: number;
  srcLength: number;
  tos: number;
  /** Only tables below 256 fit here; FRA_TABLE holds the full number. */
  table: number;
  action: number;
  flags: number;
}

const fibRuleHdr: StructCodec<FibRuleHdr> = {
  name: "fib_rule_hdr",
  size: 12,
  encode(w, h) {
    w.u8(h.family);
    w.u8(h.dstLength);
    w.u8(h.srcLength);
    w.u8(h.tos);
    w.u8(h.table);
    w.u8(0); // res1
    w.u8(0); // res2
    w.u8(h.action);
    w.u32(h.flags);
  },
  decode: (view) => ({
    family: view.getUint8(0),
    dstLength: view.getUint8(1),
    srcLength: view.getUint8(2),
    tos: view.getUint8(3),
    table: view.getUint8(4),
    action: view.getUint8(7),
    flags: view.getUint32(8, HOST_LITTLE_ENDIAN),
  }),
};

const RULE = attrTable("fib_rule_hdr", {
  iifname: [3, string],
  priority: [6, u32],
  fwmark: [10, u32],
  table: [15, u32],
  fwmask: [16, u32],
  oifname: [17, string],
});
export type RuleAttr = Attr<typeof RULE.spec>;
export type RuleMessage = Body<FibRuleHdr, typeof RULE.spec>;

export const ruleMessage = bodyCodec(fibRuleHdr, RULE);
