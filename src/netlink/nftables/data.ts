// struct nft_data on the wire (NFTA_DATA_VALUE bytes, or NFTA_DATA_VERDICT with a code and a chain), and the
// typed verdicts of rules and verdict maps.
import { attrTable, attrValue, be32, be32signed, bytes, nested, string, type Attr, type Codec, type UnknownAttr } from "../attrs.ts";
import { NetlinkMalformedError } from "../errors.ts";

export const NLA_F_NESTED = 0x8000;

const VERDICT = attrTable("nft verdict", {
  code: [1, be32signed],
  chain: [2, string],
  chainId: [3, be32],
});

const DATA = attrTable("nft data", {
  value: [1, bytes],
  verdict: [NLA_F_NESTED | 2, nested(VERDICT)],
});
type DataAttr = Attr<typeof DATA.spec>;

// NF_* (linux/netfilter.h) and NFT_* (linux/netfilter/nf_tables.h) verdict codes.
const CODES = { drop: 0, accept: 1, stolen: 2, queue: 3, continue: -1, break: -2, jump: -3, goto: -4, return: -5 } as const;
export type VerdictKind = keyof typeof CODES;

export type Verdict =
  | { kind: Exclude<VerdictKind, "jump" | "goto"> }
  | { kind: "jump" | "goto"; chain: string };

/** A register's content or a verdict; what an immediate loads, a cmp compares, a map element maps to. */
export type NftData = Uint8Array | Verdict;

function verdictOf(attrs: Attr<typeof VERDICT.spec>[]): Verdict {
  const code = attrValue(attrs, "code");
  if (code === undefined) throw new NetlinkMalformedError("verdict without NFTA_VERDICT_CODE");
  const kind = (Object.keys(CODES) as VerdictKind[]).find((k) => CODES[k] === code);
  if (kind === undefined) throw new NetlinkMalformedError(`verdict code ${code}`);
  if (kind === "jump" || kind === "goto") {
    const chain = attrValue(attrs, "chain");
    if (chain === undefined) throw new NetlinkMalformedError(`${kind} verdict without a chain`);
    return { kind, chain };
  }
  return { kind };
}

function dataToAttrs(data: NftData): DataAttr[] {
  if (data instanceof Uint8Array) return [{ name: "value", value: data }];
  const attrs: Attr<typeof VERDICT.spec>[] = [{ name: "code", value: CODES[data.kind] }];
  if ("chain" in data) attrs.push({ name: "chain", value: data.chain });
  return [{ name: "verdict", value: attrs }];
}

function dataFromAttrs(attrs: DataAttr[]): NftData {
  for (const a of attrs) {
    if (a.name === "value") return a.value;
    if (a.name === "verdict") return verdictOf(a.value);
  }
  throw new NetlinkMalformedError("nft data with neither a value nor a verdict");
}

/** struct nft_data as one nested attribute's content. */
export const nftData: Codec<NftData> = {
  encode: (w, v) => nested(DATA).encode(w, dataToAttrs(v)),
  decode: (b, s) => dataFromAttrs(nested(DATA).decode(b, s)),
};

export function isVerdict(data: NftData): data is Verdict {
  return !(data instanceof Uint8Array);
}

/** The attributes a decoder did not know, kept so re-encoding gives back what the kernel sent. */
export function unknownOf(attrs: readonly { name: string | null }[]): UnknownAttr[] | undefined {
  const unknown = attrs.filter((a): a is UnknownAttr => a.name === null);
  return unknown.length ? unknown : undefined;
}
