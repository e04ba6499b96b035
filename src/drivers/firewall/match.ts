// The expressions ctrnet's rules are made of, as nft compiles the same statements (`nft --debug=netlink`
// shows them): protocol family checks, prefix matches, set lookups, conntrack tests and verdicts.
import * as nf from "../../netlink/nftables/index.ts";
import { parseCidr } from "../../ip/codec.ts";

const R1 = nf.REG_1;

/** NF_CT status bit IPS_DST_NAT: the connection was DNATed (`ct status dnat`). */
const IPS_DST_NAT = 0x20;

export type IpFamily = "ip" | "ip6";

export function nfproto(family: IpFamily): nf.Expr[] {
  return [
    { type: "meta", key: "nfproto", dreg: R1 },
    { type: "cmp", sreg: R1, op: "eq", data: Uint8Array.of(nf.NFPROTO[family]) },
  ];
}

/** `ip saddr|daddr [!=] PREFIX`: whole bytes compared directly, a partial byte through a mask. */
export function prefix(family: IpFamily, field: "saddr" | "daddr", cidr: string, op: "eq" | "neq" = "eq"): nf.Expr[] {
  const parsed = parseCidr(cidr);
  if (parsed === null) throw new RangeError(`"${cidr}" is not a CIDR`);
  const [base, offset] = nf.FIELDS[family][field];
  const whole = Math.floor(parsed.prefixLength / 8);
  const rest = parsed.prefixLength % 8;
  const len = whole + (rest ? 1 : 0);
  const address = parsed.address.subarray(0, len);
  const out: nf.Expr[] = [{ type: "payload", base, offset, len, dreg: R1 }];
  if (rest) {
    const mask = new Uint8Array(len).fill(0xff);
    mask[len - 1] = (0xff << (8 - rest)) & 0xff;
    out.push({ type: "bitwise", sreg: R1, dreg: R1, len, mask, xor: new Uint8Array(len) });
    const masked = address.slice();
    masked[len - 1]! &= mask[len - 1]!;
    out.push({ type: "cmp", sreg: R1, op, data: masked });
  } else {
    out.push({ type: "cmp", sreg: R1, op, data: address.slice() });
  }
  return out;
}

/** `ip saddr|daddr [!=] @set`. */
export function addressIn(family: IpFamily, field: "saddr" | "daddr", set: string, negate = false): nf.Expr[] {
  return [
    nf.load(nf.FIELDS[family][field], R1),
    { type: "lookup", set, sreg: R1, ...(negate ? { flags: nf.NFT_LOOKUP_F_INV } : {}) },
  ];
}

/** `iifname|oifname @set`. */
export function interfaceIn(key: "iifname" | "oifname", set: string): nf.Expr[] {
  return [
    { type: "meta", key, dreg: R1 },
    { type: "lookup", set, sreg: R1 },
  ];
}

/** `ct status dnat`. */
export function dnatted(): nf.Expr[] {
  return [
    { type: "ct", key: "status", dreg: R1 },
    { type: "bitwise", sreg: R1, dreg: R1, len: 4, mask: nf.hostU32(IPS_DST_NAT), xor: nf.hostU32(0) },
    { type: "cmp", sreg: R1, op: "neq", data: nf.hostU32(0) },
  ];
}

/** `ct state established,related`. */
export function established(): nf.Expr[] {
  return [
    { type: "ct", key: "state", dreg: R1 },
    { type: "bitwise", sreg: R1, dreg: R1, len: 4, mask: nf.hostU32(nf.CT_STATE.established | nf.CT_STATE.related), xor: nf.hostU32(0) },
    { type: "cmp", sreg: R1, op: "neq", data: nf.hostU32(0) },
  ];
}

/** `fib daddr type local`: addressed to this host (any of its addresses, loopback included). */
export function toLocalAddress(): nf.Expr[] {
  return [
    { type: "fib", flags: nf.FIB_FLAGS.daddr, result: "addrtype", dreg: R1 },
    { type: "cmp", sreg: R1, op: "eq", data: nf.hostU32(nf.RTN.local) },
  ];
}

/**
 * `dnat ip|ip6 to [ip daddr .] meta l4proto . th dport map @MAP`: the key is built in consecutive 4-byte
 * registers, the map's data (address . port) comes back in them, and nat reads address and port from there.
 */
export function dnatThroughMap(family: IpFamily, map: string, withAddress: boolean): nf.Expr[] {
  const addressLen = family === "ip" ? 4 : 16;
  const keyStart = nf.reg32(0);
  const out: nf.Expr[] = [];
  let next = 0;
  if (withAddress) {
    out.push(nf.load(nf.FIELDS[family].daddr, keyStart));
    next = addressLen / 4;
  }
  out.push({ type: "meta", key: "l4proto", dreg: nf.reg32(next) });
  out.push(nf.load(nf.FIELDS.th.dport, nf.reg32(next + 1)));
  out.push({ type: "lookup", set: map, sreg: keyStart, dreg: keyStart });
  out.push({ type: "nat", nat: "dnat", family, regAddrMin: keyStart, regProtoMin: nf.reg32(addressLen / 4) });
  return out;
}

export const masquerade: nf.Expr = { type: "masq" };
export const accept: nf.Expr = { type: "immediate", dreg: nf.REG_VERDICT, data: { kind: "accept" } };
export const drop: nf.Expr = { type: "immediate", dreg: nf.REG_VERDICT, data: { kind: "drop" } };
export function jump(chain: string): nf.Expr {
  return { type: "immediate", dreg: nf.REG_VERDICT, data: { kind: "jump", chain } };
}
