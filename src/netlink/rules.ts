// Policy routing rules in the typed API (`ip rule`): what a rule looks like to callers, and RTM_*RULE messages.
import { AF_INET, AF_INET6 } from "../../ffi/libc.ts";
import { familyNumber, type Family } from "./addresses.ts";
import { attrValue } from "./attrs.ts";
import { FR_ACT_TO_TBL, type RuleAttr, type RuleMessage } from "./msg-rule.ts";

export interface Rule {
  family: Family;
  priority?: number;
  fwmark?: number;
  fwmask?: number;
  table: number;
  /** FR_ACT_*: 1 to a table, … */
  action: number;
}

/** `ip rule add fwmark MARK[/MASK] lookup TABLE [priority N]`: the only kind of rule ctrnet makes. */
export interface RuleSpec {
  family: Family;
  fwmark: number;
  /** Defaults to every bit, as `ip rule` does. */
  fwmask?: number;
  table: number;
  /**
   * Without one the kernel picks the one just before the first rule after the local table's (32765 on a
   * fresh netns), and a rule added twice is there twice: the kernel's EEXIST compares priorities too.
   */
  priority?: number;
}

/** null for other families. */
export function toRule(msg: RuleMessage): Rule | null {
  const { header, attrs } = msg;
  if (header.family !== AF_INET && header.family !== AF_INET6) return null;
  return {
    family: header.family === AF_INET ? 4 : 6,
    priority: attrValue(attrs, "priority"),
    fwmark: attrValue(attrs, "fwmark"),
    fwmask: attrValue(attrs, "fwmask"),
    table: attrValue(attrs, "table") ?? header.table,
    action: header.action,
  };
}

export function ruleMessage(spec: RuleSpec): RuleMessage {
  const attrs: RuleAttr[] = [
    { name: "table", value: spec.table },
    { name: "fwmark", value: spec.fwmark },
    { name: "fwmask", value: spec.fwmask ?? 0xffffffff },
  ];
  if (spec.priority !== undefined) attrs.push({ name: "priority", value: spec.priority });
  return {
    header: {
      family: familyNumber(spec.family),
      dstLength: 0,
      srcLength: 0,
      tos: 0,
      table: spec.table < 256 ? spec.table : 0,
      action: FR_ACT_TO_TBL,
      flags: 0,
    },
    attrs,
  };
}

export function describeRule(spec: RuleSpec): string {
  const mask = spec.fwmask === undefined ? "" : `/0x${spec.fwmask.toString(16)}`;
  const priority = spec.priority === undefined ? "" : ` priority ${spec.priority}`;
  return `IPv${spec.family} rule${priority} fwmark 0x${spec.fwmark.toString(16)}${mask} lookup ${spec.table}`;
}
