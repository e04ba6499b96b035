// Tables, chains and rules in the typed API: what callers give and get back, and the messages for them.
import { attrValue } from "../attrs.ts";
import { NetlinkMalformedError } from "../errors.ts";
import type { Expr } from "./expr/index.ts";
import type { ChainAttr, ChainMessage, HookAttr } from "./msg-chain.ts";
import type { RuleAttr, RuleMessage } from "./msg-rule.ts";
import type { TableAttr, TableMessage } from "./msg-table.ts";
import { familyName, familyNumber, NFNETLINK_V0, type NfGenMsg, type NftFamily } from "./nfnl.ts";

export interface TableRef {
  family: NftFamily;
  name: string;
}

export interface TableSpec extends TableRef {
  /** TABLE_FLAGS bits. */
  flags?: number;
}

export interface Table extends TableRef {
  flags: number;
  handle: bigint;
  /** How many chains and sets it holds. */
  use: number;
}

export const HOOKS = ["prerouting", "input", "forward", "output", "postrouting", "ingress"] as const;
export type Hook = (typeof HOOKS)[number];
export type ChainType = "filter" | "nat" | "route";
export type Policy = "accept" | "drop";

/** What makes a chain a base chain: the netfilter hook it is attached to. */
export interface BaseChain {
  type: ChainType;
  hook: Hook;
  priority: number;
  /** Defaults to accept. */
  policy?: Policy;
  /** For netdev and inet ingress chains. */
  device?: string;
}

export interface ChainRef {
  family: NftFamily;
  table: string;
  name: string;
}

/** A regular chain (a jump or goto target) without `base`. */
export interface ChainSpec extends ChainRef {
  base?: BaseChain;
}

export interface Chain extends ChainSpec {
  handle: bigint;
  /** How many rules and jumps refer to it. */
  use: number;
}

export interface RuleSpec {
  family: NftFamily;
  table: string;
  chain: string;
  exprs: Expr[];
  /** Stored in the rule's userdata as nft stores `comment "..."`, so `nft list` shows it. */
  comment?: string;
}

export interface Rule extends RuleSpec {
  handle: bigint;
}

export interface RuleRef {
  family: NftFamily;
  table: string;
  chain: string;
  handle: bigint;
}

export function genHeader(family: NftFamily | 0): NfGenMsg {
  return { family: family === 0 ? 0 : familyNumber(family), version: NFNETLINK_V0, resId: 0 };
}

export function familyOf(header: NfGenMsg): NftFamily {
  const family = familyName(header.family);
  if (family === null) throw new NetlinkMalformedError(`nf_tables message of family ${header.family}`);
  return family;
}

function need<A extends { name: string | null }, K extends Exclude<A["name"], null>>(
  attrs: readonly A[],
  name: K,
  what: string,
): Extract<A, { name: K }> extends { value: infer V } ? V : never {
  const value = attrValue(attrs as never, name as never);
  if (value === undefined) throw new NetlinkMalformedError(`${what} without its ${name} attribute`);
  return value;
}

export function tableMessageOf(spec: TableSpec | TableRef): TableMessage {
  const attrs: TableAttr[] = [{ name: "name", value: spec.name }];
  if ("flags" in spec && spec.flags !== undefined) attrs.push({ name: "flags", value: spec.flags });
  return { header: genHeader(spec.family), attrs };
}

export function toTable(msg: TableMessage): Table {
  const { attrs } = msg;
  return {
    family: familyOf(msg.header),
    name: need(attrs, "name", "table"),
    flags: attrValue(attrs, "flags") ?? 0,
    handle: attrValue(attrs, "handle") ?? 0n,
    use: attrValue(attrs, "use") ?? 0,
  };
}

// NF_DROP, NF_ACCEPT
const POLICIES: Policy[] = ["drop", "accept"];

export function chainMessageOf(spec: ChainSpec | ChainRef): ChainMessage {
  const attrs: ChainAttr[] = [
    { name: "table", value: spec.table },
    { name: "name", value: spec.name },
  ];
  const base = "base" in spec ? spec.base : undefined;
  if (base !== undefined) {
    const hook: HookAttr[] = [
      { name: "hooknum", value: HOOKS.indexOf(base.hook) },
      { name: "priority", value: base.priority },
    ];
    if (base.device !== undefined) hook.push({ name: "dev", value: base.device });
    attrs.push({ name: "type", value: base.type });
    if (base.policy !== undefined) attrs.push({ name: "policy", value: POLICIES.indexOf(base.policy) });
    attrs.push({ name: "hook", value: hook });
  }
  return { header: genHeader(spec.family), attrs };
}

export function toChain(msg: ChainMessage): Chain {
  const { attrs } = msg;
  const chain: Chain = {
    family: familyOf(msg.header),
    table: need(attrs, "table", "chain"),
    name: need(attrs, "name", "chain"),
    handle: attrValue(attrs, "handle") ?? 0n,
    use: attrValue(attrs, "use") ?? 0,
  };
  const hook = attrValue(attrs, "hook");
  if (hook !== undefined) {
    const num = need(hook, "hooknum", "chain hook");
    const name = HOOKS[num];
    if (name === undefined) throw new NetlinkMalformedError(`chain hook ${num}`);
    const type = attrValue(attrs, "type") ?? "filter";
    chain.base = { type: type as ChainType, hook: name, priority: need(hook, "priority", "chain hook") };
    const policy = attrValue(attrs, "policy");
    if (policy !== undefined) chain.base.policy = POLICIES[policy] ?? "accept";
    const device = attrValue(hook, "dev");
    if (device !== undefined) chain.base.device = device;
  }
  return chain;
}

// libnftnl's rule userdata: type-length-value records; NFTNL_UDATA_RULE_COMMENT is type 0, a NUL-terminated string.
const UDATA_RULE_COMMENT = 0;

export function commentUserdata(comment: string): Uint8Array {
  const text = Buffer.from(`${comment}\0`, "utf8");
  if (text.length > 255) throw new RangeError(`rule comment of ${text.length - 1} bytes, more than 254`);
  return Uint8Array.from([UDATA_RULE_COMMENT, text.length, ...text]);
}

export function commentOf(userdata: Uint8Array): string | undefined {
  for (let at = 0; at + 2 <= userdata.length; at += 2 + userdata[at + 1]!) {
    const length = userdata[at + 1]!;
    if (userdata[at] === UDATA_RULE_COMMENT && at + 2 + length <= userdata.length) {
      const text = userdata.subarray(at + 2, at + 2 + length);
      const end = text.indexOf(0);
      return Buffer.from(text.subarray(0, end < 0 ? text.length : end)).toString("utf8");
    }
  }
  return undefined;
}

/** `position`: the handle the new rule goes after (append) or before (insert). */
export function ruleMessageOf(spec: RuleSpec, position?: bigint): RuleMessage {
  const attrs: RuleAttr[] = [
    { name: "table", value: spec.table },
    { name: "chain", value: spec.chain },
  ];
  if (position !== undefined) attrs.push({ name: "position", value: position });
  attrs.push({ name: "expressions", value: spec.exprs });
  if (spec.comment !== undefined) attrs.push({ name: "userdata", value: commentUserdata(spec.comment) });
  return { header: genHeader(spec.family), attrs };
}

export function ruleRefMessage(ref: RuleRef): RuleMessage {
  return {
    header: genHeader(ref.family),
    attrs: [
      { name: "table", value: ref.table },
      { name: "chain", value: ref.chain },
      { name: "handle", value: ref.handle },
    ],
  };
}

export function toRule(msg: RuleMessage): Rule {
  const { attrs } = msg;
  const rule: Rule = {
    family: familyOf(msg.header),
    table: need(attrs, "table", "rule"),
    chain: need(attrs, "chain", "rule"),
    handle: need(attrs, "handle", "rule"),
    exprs: attrValue(attrs, "expressions") ?? [],
  };
  const userdata = attrValue(attrs, "userdata");
  const comment = userdata && commentOf(userdata);
  if (comment !== undefined) rule.comment = comment;
  return rule;
}
