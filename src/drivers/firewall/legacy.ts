// iptables-legacy's FORWARD chain, read as iptables-legacy reads it (IPT_SO_GET_INFO, then
// IPT_SO_GET_ENTRIES on a raw socket; no process). ctrnet cannot write x_tables, so on a host whose legacy
// FORWARD policy is DROP an attach fails with the two commands that let its bridge through, unless the
// chain accepts the bridge both ways already.
import { readFileSync } from "../../../ffi/fs.ts";
import * as libc from "../../../ffi/libc.ts";
import { CtrnetError } from "../../errors.ts";

const IPPROTO_RAW = 255;
const SOL_IP = 0;
const SOL_IPV6 = 41;
const SO_GET_INFO = 64;
const SO_GET_ENTRIES = 65;
const NF_INET_FORWARD = 2;
/** A standard target's verdict for ACCEPT and DROP: -NF_ACCEPT - 1, -NF_DROP - 1. */
const VERDICT = { accept: -2, drop: -1 };

// Offsets from linux/netfilter_ipv4/ip_tables.h and netfilter_ipv6/ip6_tables.h (the same on every
// 64-bit and 32-bit ABI Linux runs on: natural alignment, no pointers).
const LAYOUT = {
  ip: { level: SOL_IP, domain: libc.AF_INET, names: "/proc/net/ip_tables_names", command: "iptables-legacy", entry: 112, iniface: 16, outiface: 32, masks: [8, 16], invflags: 83 },
  ip6: { level: SOL_IPV6, domain: libc.AF_INET6, names: "/proc/net/ip6_tables_names", command: "ip6tables-legacy", entry: 168, iniface: 64, outiface: 80, masks: [32, 64], invflags: 132 },
} as const;
const GETINFO_SIZE = 84;
const HOOK_ENTRY = 36;
const UNDERFLOW = 56;
const INFO_SIZE = 80;
const ENTRIES_HEADER = 40;
const TARGET_OFFSET = { ip: 88, ip6: 140 };
const NEXT_OFFSET = { ip: 90, ip6: 142 };
const TARGET_HEADER = 32;

type Family = keyof typeof LAYOUT;

function loaded(family: Family): boolean {
  try {
    return readFileSync(LAYOUT[family].names, "utf8").split("\n").includes("filter");
  } catch {
    return false;
  }
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString("latin1");
}

interface ForwardChain {
  policy: "accept" | "drop" | "other";
  /** Bridges the chain accepts unconditionally in (`-i BR -j ACCEPT`) and out (`-o BR -j ACCEPT`). */
  acceptsIn: Set<string>;
  acceptsOut: Set<string>;
}

function readForward(family: Family): ForwardChain | undefined {
  const l = LAYOUT[family];
  const fd = libc.socket(l.domain, libc.SOCK_RAW, IPPROTO_RAW);
  try {
    const info = new Uint8Array(GETINFO_SIZE);
    info.set(Buffer.from("filter"));
    libc.getsockoptInto(fd, l.level, SO_GET_INFO, info, `${family} filter table info`);
    const iv = new DataView(info.buffer);
    const entry = iv.getUint32(HOOK_ENTRY + 4 * NF_INET_FORWARD, true);
    const underflow = iv.getUint32(UNDERFLOW + 4 * NF_INET_FORWARD, true);
    const size = iv.getUint32(INFO_SIZE, true);
    const buf = new Uint8Array(ENTRIES_HEADER + size);
    buf.set(Buffer.from("filter"));
    new DataView(buf.buffer).setUint32(32, size, true);
    libc.getsockoptInto(fd, l.level, SO_GET_ENTRIES, buf, `${family} filter table entries`);
    const table = buf.subarray(ENTRIES_HEADER);
    const view = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const verdictAt = (at: number): number | undefined => {
      const target = at + view.getUint16(at + TARGET_OFFSET[family], true);
      // the standard target has an empty name
      return table[target + 2] === 0 ? view.getInt32(target + TARGET_HEADER, true) : undefined;
    };
    const policy = verdictAt(underflow);
    const chain: ForwardChain = { policy: policy === VERDICT.drop ? "drop" : policy === VERDICT.accept ? "accept" : "other", acceptsIn: new Set(), acceptsOut: new Set() };
    for (let at = entry; at < underflow; at += view.getUint16(at + NEXT_OFFSET[family], true)) {
      if (view.getUint16(at + NEXT_OFFSET[family], true) === 0) break;
      const plain = view.getUint16(at + TARGET_OFFSET[family], true) === l.entry && table[at + l.invflags] === 0 && table.subarray(at + l.masks[0], at + l.masks[1]).every((b) => b === 0);
      if (!plain || verdictAt(at) !== VERDICT.accept) continue;
      const iniface = cString(table.subarray(at + l.iniface, at + l.iniface + 16));
      const outiface = cString(table.subarray(at + l.outiface, at + l.outiface + 16));
      if (iniface && !outiface) chain.acceptsIn.add(iniface);
      if (outiface && !iniface) chain.acceptsOut.add(outiface);
    }
    return chain;
  } finally {
    libc.close(fd);
  }
}

/**
 * Throws one line saying what to do when a loaded legacy filter table's FORWARD policy is DROP and the
 * chain does not accept every one of these bridges both ways. A host with no legacy filter table (the
 * usual case: iptables-nft) costs one read of a /proc file per family.
 */
export function checkLegacyForward(bridges: readonly string[], families: readonly Family[] = ["ip", "ip6"]): void {
  for (const family of families) {
    if (!loaded(family)) continue;
    const chain = readForward(family);
    if (chain?.policy !== "drop") continue;
    const missing = bridges.filter((b) => !chain.acceptsIn.has(b) || !chain.acceptsOut.has(b));
    if (missing.length === 0) continue;
    const cmd = LAYOUT[family].command;
    const fixes = missing.flatMap((b) => [`${cmd} -I FORWARD -i ${b} -j ACCEPT`, `${cmd} -I FORWARD -o ${b} -j ACCEPT`]).join(" && ");
    throw new CtrnetError(`the ${cmd} FORWARD policy is DROP, which drops the containers' traffic, and ctrnet cannot add rules to legacy tables: run "${fixes}", or move the host to iptables-nft`);
  }
}
