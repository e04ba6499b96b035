// nat: source or destination NAT to the address (and port) held in registers.
import { be32, type UnknownAttr } from "../../attrs.ts";
import { familyName, familyNumber, type NftFamily } from "../nfnl.ts";
import { NetlinkMalformedError } from "../../errors.ts";
import { exprModule, nameOf, need, numberOf, present } from "./module.ts";

const TYPES = ["snat", "dnat"] as const;

/** NF_NAT_RANGE_* flags. */
export const NAT_FLAGS = {
  mapIps: 1,
  protoSpecified: 2,
  protoRandom: 4,
  persistent: 8,
  protoRandomFully: 16,
  protoOffset: 32,
  netmap: 64,
} as const;

export interface NatExpr {
  type: "nat";
  nat: (typeof TYPES)[number];
  /** The address family of the registers: ip or ip6. */
  family: NftFamily;
  regAddrMin?: number;
  regAddrMax?: number;
  regProtoMin?: number;
  regProtoMax?: number;
  flags?: number;
  unknown?: UnknownAttr[];
}

export const nat = exprModule(
  "nat",
  {
    type: [1, be32],
    family: [2, be32],
    regAddrMin: [3, be32],
    regAddrMax: [4, be32],
    regProtoMin: [5, be32],
    regProtoMax: [6, be32],
    flags: [7, be32],
  },
  (e: NatExpr) =>
    present([
      ["type", numberOf(TYPES, e.nat)],
      ["family", familyNumber(e.family)],
      ["regAddrMin", e.regAddrMin],
      ["regAddrMax", e.regAddrMax],
      ["regProtoMin", e.regProtoMin],
      ["regProtoMax", e.regProtoMax],
      ["flags", e.flags],
    ]),
  (a) => {
    const family = familyName(need(a, "family", "nat"));
    if (family === null) throw new NetlinkMalformedError(`nat family ${need(a, "family", "nat")}`);
    const e: Omit<NatExpr, "unknown"> = { type: "nat", nat: nameOf(TYPES, need(a, "type", "nat"), "nat type"), family };
    for (const x of a) if (x.name !== null && x.name !== "type" && x.name !== "family") e[x.name] = x.value;
    return e;
  },
);
