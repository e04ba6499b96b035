// Golden bytes for what a native bridge network sends beyond plain links: a VLAN-filtering bridge, macvlan
// and ipvlan links, and the PF_BRIDGE RTM_SETLINK messages for a port's hairpin flag and its VLANs. Each
// array is what iproute2 sends for the same request (seen with `strace -e trace=sendmsg -xx` of `ip link add`
// and `bridge link|vlan`), little-endian, with seq 1 and pid 0. Decoded, then re-encoded to the same bytes.
import { describe, expect, test } from "bun:test";
import { bridgePortMessage, bridgeVlanMessage, linkAddMessage, toLink } from "../../src/netlink/links.ts";
import { bridgeLinkMessage, linkMessage, RTM_NEWLINK, RTM_SETLINK } from "../../src/netlink/msg-link.ts";
import { encodeMessage, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, splitMessages, type Writer } from "../../src/netlink/wire.ts";

const CREATE_FLAGS = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
const SET_FLAGS = NLM_F_REQUEST | NLM_F_ACK;

function frame(type: number, flags: number, body: (w: Writer) => void): Uint8Array {
  return encodeMessage({ type, flags, seq: 1, pid: 0 }, body);
}

// `ip link add brz type bridge vlan_filtering 1`
const BRIDGE_VLAN_FILTERING = Uint8Array.from([
  68, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr: 68 bytes, RTM_NEWLINK, REQUEST|ACK|EXCL|CREATE
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //          ifinfomsg, all zero
  8, 0, 3, 0, 0x62, 0x72, 0x7a, 0, //                         IFLA_IFNAME "brz\0"
  28, 0, 18, 0, //                                            IFLA_LINKINFO, 28 bytes
  11, 0, 1, 0, 0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0, 0, //   IFLA_INFO_KIND "bridge\0", pad 1
  12, 0, 2, 0, //                                             IFLA_INFO_DATA, 12 bytes
  5, 0, 7, 0, 1, 0, 0, 0, //                                  IFLA_BR_VLAN_FILTERING 1 (u8), pad 3
]);

// `ip link add brz type bridge mcast_snooping 0`: how ensureBridge makes a network's bridge. Debian 12's
// iproute2 sends the same lengths and order, but its IFLA_INFO_KIND without the NUL (nla_len 10, the same
// 12 bytes padded); the kernel takes either, and these goldens keep the NUL as the ones above.
const BRIDGE_NO_SNOOPING = Uint8Array.from([
  68, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  8, 0, 3, 0, 0x62, 0x72, 0x7a, 0, //                         IFLA_IFNAME "brz\0"
  28, 0, 18, 0, //                                            IFLA_LINKINFO, 28 bytes
  11, 0, 1, 0, 0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0, 0, //   IFLA_INFO_KIND "bridge\0", pad 1
  12, 0, 2, 0, //                                             IFLA_INFO_DATA, 12 bytes
  5, 0, 23, 0, 0, 0, 0, 0, //                                 IFLA_BR_MCAST_SNOOPING 0 (u8), pad 3
]);

// `ip link add brz type bridge vlan_filtering 1 mcast_snooping 0`: the same for a network with -o vlan=N
const BRIDGE_VLAN_NO_SNOOPING = Uint8Array.from([
  76, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  8, 0, 3, 0, 0x62, 0x72, 0x7a, 0,
  36, 0, 18, 0, //                                            IFLA_LINKINFO, 36 bytes
  11, 0, 1, 0, 0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0, 0,
  20, 0, 2, 0, //                                             IFLA_INFO_DATA, 20 bytes
  5, 0, 7, 0, 1, 0, 0, 0, //                                  IFLA_BR_VLAN_FILTERING 1
  5, 0, 23, 0, 0, 0, 0, 0, //                                 IFLA_BR_MCAST_SNOOPING 0
]);

// `ip link add link p0 name mv0 type macvlan mode bridge` (p0 is index 3)
const MACVLAN_BRIDGE = Uint8Array.from([
  76, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  8, 0, 3, 0, 0x6d, 0x76, 0x30, 0, //                         IFLA_IFNAME "mv0\0"
  8, 0, 5, 0, 3, 0, 0, 0, //                                  IFLA_LINK 3: the parent
  28, 0, 18, 0, //                                            IFLA_LINKINFO
  12, 0, 1, 0, 0x6d, 0x61, 0x63, 0x76, 0x6c, 0x61, 0x6e, 0, // IFLA_INFO_KIND "macvlan\0"
  12, 0, 2, 0, //                                             IFLA_INFO_DATA
  8, 0, 1, 0, 4, 0, 0, 0, //                                  IFLA_MACVLAN_MODE MACVLAN_MODE_BRIDGE (4)
]);

// `ip link add link p0 name mv0 type macvlan mode bridge bclim -1` (iproute2 6.5 and later; podman's -o bclim)
const MACVLAN_BCLIM = Uint8Array.from([
  84, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  8, 0, 3, 0, 0x6d, 0x76, 0x30, 0, //                         IFLA_IFNAME "mv0\0"
  8, 0, 5, 0, 3, 0, 0, 0, //                                  IFLA_LINK 3: the parent
  36, 0, 18, 0, //                                            IFLA_LINKINFO
  12, 0, 1, 0, 0x6d, 0x61, 0x63, 0x76, 0x6c, 0x61, 0x6e, 0, // IFLA_INFO_KIND "macvlan\0"
  20, 0, 2, 0, //                                             IFLA_INFO_DATA
  8, 0, 1, 0, 4, 0, 0, 0, //                                  IFLA_MACVLAN_MODE MACVLAN_MODE_BRIDGE (4)
  8, 0, 9, 0, 0xff, 0xff, 0xff, 0xff, //                      IFLA_MACVLAN_BC_CUTOFF -1 (s32)
]);

// `ip link add link p0 name iv0 type ipvlan mode l3`, less iproute2's IFLA_IPVLAN_FLAGS 0 (the default)
const IPVLAN_L3 = Uint8Array.from([
  76, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  8, 0, 3, 0, 0x69, 0x76, 0x30, 0, //                         IFLA_IFNAME "iv0\0"
  8, 0, 5, 0, 3, 0, 0, 0, //                                  IFLA_LINK 3
  28, 0, 18, 0,
  11, 0, 1, 0, 0x69, 0x70, 0x76, 0x6c, 0x61, 0x6e, 0, 0, //   IFLA_INFO_KIND "ipvlan\0", pad 1
  12, 0, 2, 0,
  6, 0, 1, 0, 1, 0, 0, 0, //                                  IFLA_IPVLAN_MODE IPVLAN_MODE_L3 (u16 1), pad 2
]);

// `bridge link set dev p0 hairpin on` (p0 is index 3)
const HAIRPIN_ON = Uint8Array.from([
  44, 0, 0, 0, 19, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0, //    RTM_SETLINK, REQUEST|ACK
  7, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //          ifinfomsg: family AF_BRIDGE, index 3
  12, 0, 12, 0x80, //                                         IFLA_PROTINFO | NLA_F_NESTED
  5, 0, 4, 0, 1, 0, 0, 0, //                                  IFLA_BRPORT_MODE (hairpin) 1, pad 3
]);

// `bridge vlan add vid 42 dev p0 pvid untagged`
const VLAN_PVID_UNTAGGED = Uint8Array.from([
  44, 0, 0, 0, 19, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0,
  7, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  12, 0, 26, 0, //                                            IFLA_AF_SPEC (no NESTED flag, as iproute2)
  8, 0, 2, 0, 6, 0, 42, 0, //                                 IFLA_BRIDGE_VLAN_INFO flags PVID|UNTAGGED, vid 42
]);

// `bridge vlan add vid 42 dev brx self` (brx is index 5)
const VLAN_SELF = Uint8Array.from([
  52, 0, 0, 0, 19, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0,
  7, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  20, 0, 26, 0,
  6, 0, 0, 0, 2, 0, 0, 0, //                                  IFLA_BRIDGE_FLAGS BRIDGE_FLAGS_SELF, pad 2
  8, 0, 2, 0, 0, 0, 42, 0, //                                 IFLA_BRIDGE_VLAN_INFO flags 0, vid 42
]);

describe("link creation", () => {
  test.each([
    ["a VLAN-filtering bridge", BRIDGE_VLAN_FILTERING, linkAddMessage({ kind: "bridge", name: "brz", vlanFiltering: true })],
    ["a bridge without multicast snooping", BRIDGE_NO_SNOOPING, linkAddMessage({ kind: "bridge", name: "brz", multicastSnooping: false })],
    ["a VLAN-filtering bridge without multicast snooping", BRIDGE_VLAN_NO_SNOOPING, linkAddMessage({ kind: "bridge", name: "brz", multicastSnooping: false, vlanFiltering: true })],
    ["a macvlan in bridge mode", MACVLAN_BRIDGE, linkAddMessage({ kind: "macvlan", name: "mv0", parent: 3, mode: "bridge" })],
    ["a macvlan with a broadcast cutoff", MACVLAN_BCLIM, linkAddMessage({ kind: "macvlan", name: "mv0", parent: 3, mode: "bridge", bcCutoff: -1 })],
    ["an ipvlan in l3 mode", IPVLAN_L3, linkAddMessage({ kind: "ipvlan", name: "iv0", parent: 3, mode: "l3" })],
  ])("%s: the bytes iproute2 sends", (_what, golden, msg) => {
    const ours = frame(RTM_NEWLINK, CREATE_FLAGS, (w) => linkMessage.encode(w, msg));
    expect([...ours]).toEqual([...golden]);
    const [decoded] = splitMessages(golden);
    expect(frame(RTM_NEWLINK, CREATE_FLAGS, (w) => linkMessage.encode(w, linkMessage.decode(decoded!.payload, [])))).toEqual(golden);
  });

  test("the kind's data is read back: a bridge's VLAN filtering and a port's hairpin flag", () => {
    const [msg] = splitMessages(BRIDGE_VLAN_FILTERING);
    expect(toLink(linkMessage.decode(msg!.payload, []))).toMatchObject({ name: "brz", kind: "bridge", vlanFiltering: true });
    const port = linkMessage.decode(
      encodeMessage({ type: RTM_NEWLINK, flags: 0, seq: 1, pid: 0 }, (w) =>
        linkMessage.encode(w, {
          header: { family: 0, type: 1, index: 4, flags: 0, change: 0 },
          attrs: [
            { name: "ifname", value: "veth1" },
            {
              name: "linkinfo",
              value: [
                { name: "kind", value: "veth" },
                { name: "slaveKind", value: "bridge" },
                { name: "slaveData", value: { kind: "bridge", attrs: [{ name: "learning", value: 1 }, { name: "hairpin", value: 1 }] } },
              ],
            },
          ],
        }),
      ).subarray(16),
      [],
    );
    expect(toLink(port)).toMatchObject({ name: "veth1", hairpin: true });
  });

  test("a macvlan or ipvlan made directly in another netns carries IFLA_NET_NS_FD; a bad parent is refused", () => {
    const msg = linkAddMessage({ kind: "macvlan", name: "mv0", parent: 3, mode: "private", netnsFd: 9 });
    expect(msg.attrs.find((a) => a.name === "netnsFd")?.value).toBe(9);
    expect(() => linkAddMessage({ kind: "ipvlan", name: "iv0", parent: -1, mode: "l2" })).toThrow("invalid parent interface index -1");
  });
});

describe("bridge ports (PF_BRIDGE RTM_SETLINK)", () => {
  test.each([
    ["hairpin on", HAIRPIN_ON, bridgePortMessage(3, { hairpin: true })],
    ["a port's PVID, untagged", VLAN_PVID_UNTAGGED, bridgeVlanMessage(3, 42, { pvid: true, untagged: true })],
    ["a VLAN on the bridge itself", VLAN_SELF, bridgeVlanMessage(5, 42, { self: true })],
  ])("%s: the bytes iproute2 sends", (_what, golden, msg) => {
    expect([...frame(RTM_SETLINK, SET_FLAGS, (w) => bridgeLinkMessage.encode(w, msg))]).toEqual([...golden]);
    const [decoded] = splitMessages(golden);
    const body = bridgeLinkMessage.decode(decoded!.payload, []);
    expect(body.header.family).toBe(7);
    expect(frame(RTM_SETLINK, SET_FLAGS, (w) => bridgeLinkMessage.encode(w, body))).toEqual(golden);
  });

  test("VLAN ids outside 1-4094 are refused before anything is sent", () => {
    for (const vid of [0, 4095, 1.5]) expect(() => bridgeVlanMessage(3, vid)).toThrow(`invalid VLAN id ${vid}`);
  });
});
