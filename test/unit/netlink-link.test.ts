// Golden bytes for RTM_NEWLINK. Netlink is host-endian; these arrays are little-endian (x86_64, aarch64).
import { describe, expect, test } from "bun:test";
import { attrValue } from "../../src/netlink/attrs.ts";
import { linkAddMessage, linkSetMessage, linkSummaryRequest, toLink } from "../../src/netlink/links.ts";
import { linkMessage, linkSummaryMessage, RTM_GETLINK, RTM_NEWLINK, type LinkMessage } from "../../src/netlink/msg-link.ts";
import { encodeMessage, splitMessages, type NlMessage } from "../../src/netlink/wire.ts";

function only(bytes: Uint8Array): NlMessage {
  const messages = splitMessages(bytes);
  expect(messages).toHaveLength(1);
  return messages[0]!;
}

function reencode(msg: NlMessage, body: LinkMessage): Uint8Array {
  return encodeMessage(msg, (w) => linkMessage.encode(w, body));
}

// What `linkAdd({ kind: "veth", name: "veth0", peer: { name: "eth0", netnsFd: 7 } })` sends.
const VETH_REQUEST = Uint8Array.from([
  // nlmsghdr
  104, 0, 0, 0, //           nlmsg_len 104
  16, 0, //                  RTM_NEWLINK
  0x05, 0x06, //             NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
  1, 0, 0, 0, //             seq 1
  0, 0, 0, 0, //             pid 0
  // ifinfomsg: all zero, the kernel picks the index
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  // IFLA_IFNAME "veth0\0": length 10, then 2 bytes of padding not counted in it
  10, 0, 3, 0, 0x76, 0x65, 0x74, 0x68, 0x30, 0, /* pad */ 0, 0,
  // IFLA_LINKINFO, 60 bytes
  60, 0, 18, 0,
  //   IFLA_INFO_KIND "veth\0"
  9, 0, 1, 0, 0x76, 0x65, 0x74, 0x68, 0, /* pad */ 0, 0, 0,
  //   IFLA_INFO_DATA, 44 bytes
  44, 0, 2, 0,
  //     VETH_INFO_PEER, 40 bytes: a struct ifinfomsg, then the peer's own IFLA_* attributes
  40, 0, 1, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  //       IFLA_IFNAME "eth0\0"
  9, 0, 3, 0, 0x65, 0x74, 0x68, 0x30, 0, /* pad */ 0, 0, 0,
  //       IFLA_NET_NS_FD 7: the peer is created directly in that namespace
  8, 0, 28, 0, 7, 0, 0, 0,
]);

// A link as the kernel dumps it (trimmed): an attribute the table declares nowhere (IFLA_GRO_MAX_SIZE),
// a nested one with NLA_F_NESTED set (IFLA_PROP_LIST), and IFLA_STATS64.
const LINK_WITH_STATS = Uint8Array.from([
  // nlmsghdr
  24, 1, 0, 0, //            nlmsg_len 280
  16, 0, //                  RTM_NEWLINK
  2, 0, //                   NLM_F_MULTI
  3, 0, 0, 0, //             seq 3
  0x34, 0x12, 0, 0, //       pid 0x1234: the requesting socket's port id
  // ifinfomsg
  0, //                      family AF_UNSPEC
  0, //                      pad
  1, 0, //                   type ARPHRD_ETHER
  2, 0, 0, 0, //             index 2
  0x43, 0x10, 0x01, 0, //    flags UP | BROADCAST | RUNNING | MULTICAST | LOWER_UP
  0, 0, 0, 0, //             change
  // IFLA_IFNAME "eth0\0"
  9, 0, 3, 0, 0x65, 0x74, 0x68, 0x30, 0, /* pad */ 0, 0, 0,
  // IFLA_MTU 1500
  8, 0, 4, 0, 0xdc, 0x05, 0, 0,
  // type 58 (IFLA_GRO_MAX_SIZE), not in the table: kept as raw bytes
  8, 0, 58, 0, 0, 0, 1, 0,
  // type 52 | NLA_F_NESTED (IFLA_PROP_LIST), not in the table, holding IFLA_ALT_IFNAME "enp0s3\0"
  16, 0, 52, 0x80,
  11, 0, 53, 0, 0x65, 0x6e, 0x70, 0x30, 0x73, 0x33, 0, /* pad */ 0,
  // IFLA_STATS64: struct rtnl_link_stats64, 25 u64 counters
  204, 0, 23, 0,
  10, 0, 0, 0, 0, 0, 0, 0, //      rx_packets 10
  20, 0, 0, 0, 0, 0, 0, 0, //      tx_packets 20
  0xe8, 0x03, 0, 0, 0, 0, 0, 0, // rx_bytes 1000
  1, 0, 0, 0, 0, 0, 0x20, 0, //    tx_bytes 2^53 + 1, beyond a double's exact integers
  1, 0, 0, 0, 0, 0, 0, 0, //       rx_errors 1
  2, 0, 0, 0, 0, 0, 0, 0, //       tx_errors 2
  3, 0, 0, 0, 0, 0, 0, 0, //       rx_dropped 3
  4, 0, 0, 0, 0, 0, 0, 0, //       tx_dropped 4
  5, 0, 0, 0, 0, 0, 0, 0, //       multicast 5
  0, 0, 0, 0, 0, 0, 0, 0, //       collisions
  0, 0, 0, 0, 0, 0, 0, 0, //       rx_length_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       rx_over_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       rx_crc_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       rx_frame_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       rx_fifo_errors
  6, 0, 0, 0, 0, 0, 0, 0, //       rx_missed_errors 6
  0, 0, 0, 0, 0, 0, 0, 0, //       tx_aborted_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       tx_carrier_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       tx_fifo_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       tx_heartbeat_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       tx_window_errors
  0, 0, 0, 0, 0, 0, 0, 0, //       rx_compressed
  0, 0, 0, 0, 0, 0, 0, 0, //       tx_compressed
  7, 0, 0, 0, 0, 0, 0, 0, //       rx_nohandler 7
  8, 0, 0, 0, 0, 0, 0, 0, //       rx_otherhost_dropped 8
]);

describe("RTM_NEWLINK for a veth pair", () => {
  test("decodes field by field", () => {
    const msg = only(VETH_REQUEST);
    expect(msg).toMatchObject({ type: RTM_NEWLINK, flags: 0x605, seq: 1, pid: 0 });
    const body = linkMessage.decode(msg.payload, []);
    expect(body.header).toEqual({ family: 0, type: 0, index: 0, flags: 0, change: 0 });
    expect(body.attrs).toHaveLength(2);
    expect(attrValue(body.attrs, "ifname")).toBe("veth0");
    const info = attrValue(body.attrs, "linkinfo")!;
    expect(attrValue(info, "kind")).toBe("veth");
    const data = attrValue(info, "data")!;
    if (data.kind !== "veth") throw new Error("IFLA_INFO_DATA was not read as veth data");
    const peer = attrValue(data.attrs, "peer")!;
    expect(peer.header).toEqual({ family: 0, type: 0, index: 0, flags: 0, change: 0 });
    expect(peer.attrs).toEqual([
      { name: "ifname", value: "eth0" },
      { name: "netnsFd", value: 7 },
    ]);
  });

  test("re-encodes to the same bytes", () => {
    const msg = only(VETH_REQUEST);
    expect(reencode(msg, linkMessage.decode(msg.payload, []))).toEqual(VETH_REQUEST);
  });

  test("is what linkAddMessage builds", () => {
    const body = linkAddMessage({ kind: "veth", name: "veth0", peer: { name: "eth0", netnsFd: 7 } });
    expect(encodeMessage({ type: RTM_NEWLINK, flags: 0x605, seq: 1, pid: 0 }, (w) => linkMessage.encode(w, body))).toEqual(
      VETH_REQUEST,
    );
  });
});

describe("RTM_NEWLINK with IFLA_STATS64 and attributes the table does not know", () => {
  test("decodes field by field, keeping the unknown attributes", () => {
    const msg = only(LINK_WITH_STATS);
    expect(msg).toMatchObject({ type: RTM_NEWLINK, flags: 2, seq: 3, pid: 0x1234 });
    const body = linkMessage.decode(msg.payload, []);
    expect(body.header).toEqual({ family: 0, type: 1, index: 2, flags: 0x11043, change: 0 });
    expect(body.attrs.map((a) => a.name)).toEqual(["ifname", "mtu", null, null, "stats64"]);
    expect(body.attrs[2]).toEqual({ name: null, type: 58, value: Uint8Array.from([0, 0, 1, 0]) });
    expect(body.attrs[3]).toEqual({
      name: null,
      type: 0x8034,
      value: Uint8Array.from([11, 0, 53, 0, 0x65, 0x6e, 0x70, 0x30, 0x73, 0x33, 0, 0]),
    });
    const stats = attrValue(body.attrs, "stats64")!;
    expect(stats).toMatchObject({
      rxPackets: 10n,
      txPackets: 20n,
      rxBytes: 1000n,
      txBytes: 2n ** 53n + 1n,
      rxErrors: 1n,
      txErrors: 2n,
      rxDropped: 3n,
      txDropped: 4n,
      multicast: 5n,
      collisions: 0n,
      rxMissedErrors: 6n,
      rxNohandler: 7n,
      rxOtherhostDropped: 8n,
    });
    expect(Object.keys(stats)).toHaveLength(25);
    expect(Object.values(stats).every((v) => typeof v === "bigint")).toBe(true);

    expect(toLink(body)).toMatchObject({ index: 2, name: "eth0", up: true, mtu: 1500, stats });
  });

  test("re-encodes to the same bytes", () => {
    const msg = only(LINK_WITH_STATS);
    expect(reencode(msg, linkMessage.decode(msg.payload, []))).toEqual(LINK_WITH_STATS);
  });

  test("a stats64 too short for its counters stays raw instead of failing the message", () => {
    const msg = only(LINK_WITH_STATS);
    const truncated = Uint8Array.from([...msg.payload.subarray(0, 60), 12, 0, 23, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    const body = linkMessage.decode(truncated, []);
    expect(body.attrs.at(-1)).toEqual({ name: null, type: 23, value: Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0]) });
  });
});

describe("link change requests", () => {
  test("up by name sets IFF_UP in flags and change", () => {
    expect(linkSetMessage("eth0", { up: true })).toEqual({
      header: { family: 0, type: 0, index: 0, flags: 1, change: 1 },
      attrs: [{ name: "ifname", value: "eth0" }],
    });
  });

  test("a rename addresses the link by index, so IFLA_IFNAME is the new name", () => {
    expect(linkSetMessage(4, { name: "eth1", mtu: 9000, master: 0 })).toEqual({
      header: { family: 0, type: 0, index: 4, flags: 0, change: 0 },
      attrs: [
        { name: "ifname", value: "eth1" },
        { name: "mtu", value: 9000 },
        { name: "master", value: 0 },
      ],
    });
  });

  test.each(["", "a-name-longer-than-15", "has space", "a/b", "a:b", ".", ".."])("rejects the interface name %p", (name) => {
    expect(() => linkAddMessage({ kind: "bridge", name })).toThrow(/invalid interface name/);
  });

  test("rejects a bad MAC and MTU before anything is sent", () => {
    expect(() => linkSetMessage("eth0", { mac: "02:42" })).toThrow(/invalid MAC address "02:42"/);
    expect(() => linkSetMessage("eth0", { mtu: 10 })).toThrow(/invalid MTU 10/);
  });
});

describe("a bridge port in two messages: made on its bridge and up, then its flags by name", () => {
  test("the creating message carries IFLA_MASTER and IFF_UP for this end only", () => {
    const body = linkAddMessage({ kind: "veth", name: "vh1", master: 3, up: true, peer: { name: "eth0", netnsFd: 7 } });
    expect(body.header).toEqual({ family: 0, type: 0, index: 0, flags: 1, change: 1 });
    expect(body.attrs.map((a) => a.name)).toEqual(["ifname", "master", "linkinfo"]);
    expect(attrValue(body.attrs, "master")).toBe(3);
    const peer = attrValue(attrValue(body.attrs, "linkinfo")!, "data") as { attrs: { value: LinkMessage }[] };
    expect(peer.attrs[0]!.value.header).toEqual({ family: 0, type: 0, index: 0, flags: 0, change: 0 });
    // without them, the message is the plain one
    expect(linkAddMessage({ kind: "veth", name: "vh1", peer: { name: "eth0" } }).header.flags).toBe(0);
  });

  // `ip link set dev vh1 addrgenmode none type bridge_slave hairpin on` sends the same IFLA_AF_SPEC and
  // IFLA_INFO_SLAVE_DATA, with the link by index and IFLA_INFO_KIND "bridge_slave" (which the kernel ignores
  // for a link it changes) where ctrnet names it and puts IFLA_INFO_SLAVE_KIND "bridge", as the kernel reports it.
  const PORT_SET = Uint8Array.from([
    84, 0, 0, 0, 16, 0, 5, 0, 1, 0, 0, 0, 0, 0, 0, 0, //       nlmsghdr: 84 bytes, RTM_NEWLINK, REQUEST|ACK
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //         ifinfomsg, all zero
    8, 0, 3, 0, 0x76, 0x68, 0x31, 0, //                        IFLA_IFNAME "vh1\0"
    16, 0, 26, 0, 12, 0, 10, 0, 5, 0, 8, 0, 1, 0, 0, 0, //     IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE none } }
    28, 0, 18, 0, //                                           IFLA_LINKINFO
    11, 0, 4, 0, 0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0, 0, //  IFLA_INFO_SLAVE_KIND "bridge\0", pad 1
    12, 0, 5, 0, 5, 0, 4, 0, 1, 0, 0, 0, //                    IFLA_INFO_SLAVE_DATA { IFLA_BRPORT_MODE (hairpin) 1 }
  ]);

  test("hairpin as slave data and addr_gen_mode none in one message, by name", () => {
    const body = linkSetMessage("vh1", { bridgePort: { hairpin: true }, ipv6AddrGenMode: "none" });
    expect(encodeMessage({ type: RTM_NEWLINK, flags: 5, seq: 1, pid: 0 }, (w) => linkMessage.encode(w, body))).toEqual(PORT_SET);
    const msg = only(PORT_SET);
    expect(reencode(msg, linkMessage.decode(msg.payload, []))).toEqual(PORT_SET);
    expect(toLink(linkMessage.decode(msg.payload, []))).toMatchObject({ hairpin: true, ipv6AddrGenMode: "none" });
  });
});

describe("IFLA_AF_SPEC: /proc/sys/net settings of one link over netlink", () => {
  test("a change sends each IPv4 parameter as an attribute numbered by IPV4_DEVCONF_*, and the IPv6 address generation mode", () => {
    const msg = linkSetMessage("veth0", { up: true, ipv4Conf: { rpFilter: 2, arpNotify: 1, routeLocalnet: 1 }, ipv6AddrGenMode: "none" });
    const bytes = encodeMessage({ type: RTM_NEWLINK, flags: 0, seq: 1, pid: 0 }, (w) => linkMessage.encode(w, msg));
    // after nlmsghdr (16), ifinfomsg (16) and IFLA_IFNAME "veth0\0" (12 with padding)
    expect([...bytes.subarray(44)]).toEqual([
      48, 0, 26, 0, //            IFLA_AF_SPEC
      32, 0, 2, 0, //               AF_INET
      28, 0, 1, 0, //                 IFLA_INET_CONF
      8, 0, 8, 0, 2, 0, 0, 0, //        IPV4_DEVCONF_RP_FILTER 2
      8, 0, 22, 0, 1, 0, 0, 0, //       IPV4_DEVCONF_ARP_NOTIFY 1
      8, 0, 26, 0, 1, 0, 0, 0, //       IPV4_DEVCONF_ROUTE_LOCALNET 1
      12, 0, 10, 0, //              AF_INET6
      5, 0, 8, 0, 1, /* pad */ 0, 0, 0, // IFLA_INET6_ADDR_GEN_MODE IN6_ADDR_GEN_MODE_NONE
    ]);
  });

  test("a link as the kernel reports it: IFLA_INET_CONF is one u32 array (index N-1 holds parameter N)", () => {
    const conf = new Uint32Array(32);
    conf[0] = 1; // forwarding
    conf[7] = 2; // rp_filter
    conf[21] = 1; // arp_notify
    conf[25] = 0; // route_localnet
    const raw = new Uint8Array(conf.buffer);
    const body: LinkMessage = {
      header: { family: 0, type: 1, index: 5, flags: 0, change: 0 },
      attrs: [
        { name: "ifname", value: "veth0" },
        { name: null, type: 26, value: Uint8Array.from([
          ...[4 + 4 + raw.length, 0, 2, 0], ...[4 + raw.length, 0, 1, 0], ...raw,
          ...[12, 0, 10, 0], ...[5, 0, 8, 0, 1, 0, 0, 0],
        ]) },
      ],
    };
    const bytes = encodeMessage({ type: RTM_NEWLINK, flags: 0, seq: 1, pid: 0 }, (w) => linkMessage.encode(w, body));
    const link = toLink(linkMessage.decode(only(bytes).payload, []));
    expect(link).toMatchObject({ index: 5, name: "veth0", ipv4Conf: { forwarding: 1, rpFilter: 2, arpNotify: 1, routeLocalnet: 0 }, ipv6AddrGenMode: "none" });
  });

  test("nothing to change sends no IFLA_AF_SPEC", () => {
    expect(linkSetMessage("eth0", { ipv4Conf: {} }).attrs.map((a) => a.name)).toEqual(["ifname"]);
  });
});

describe("linkSummary: one link without its counters, only what a lookup uses decoded", () => {
  test("the request asks the kernel to leave the counters out (IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS)", () => {
    const bytes = encodeMessage({ type: RTM_GETLINK, flags: 0, seq: 1, pid: 0 }, (w) => linkMessage.encode(w, linkSummaryRequest("cn-ab")));
    expect([...bytes.subarray(16)]).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg: index 0, the kernel finds the link by name
      10, 0, 3, 0, 0x63, 0x6e, 0x2d, 0x61, 0x62, 0, /* pad */ 0, 0, // IFLA_IFNAME "cn-ab\0"
      8, 0, 29, 0, 8, 0, 0, 0, //                                     IFLA_EXT_MASK RTEXT_FILTER_SKIP_STATS
    ]);
  });

  // A bridge as the kernel reports it (trimmed): what the summary reads, between what it skips.
  const conf = new Uint8Array(new Uint32Array(26).fill(0).map((_, i) => (i === 25 ? 1 : 0)).buffer); // route_localnet 1
  const BRIDGE_REPLY = Uint8Array.from([
    // nlmsghdr: nlmsg_len 456 (0x1c8), RTM_NEWLINK, seq 1, pid 0x1234
    0xc8, 0x01, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 0x34, 0x12, 0, 0,
    // ifinfomsg: index 4, UP | BROADCAST | MULTICAST
    0, 0, 1, 0, 4, 0, 0, 0, 0x03, 0x10, 0, 0, 0, 0, 0, 0,
    // IFLA_IFNAME "cn-ab\0"
    10, 0, 3, 0, 0x63, 0x6e, 0x2d, 0x61, 0x62, 0, /* pad */ 0, 0,
    // IFLA_TXQLEN 1000: declared by the full table, skipped by the summary
    8, 0, 13, 0, 0xe8, 0x03, 0, 0,
    // IFLA_MTU 1500
    8, 0, 4, 0, 0xdc, 0x05, 0, 0,
    // type 58 (IFLA_GRO_MAX_SIZE), declared nowhere: skipped
    8, 0, 58, 0, 0, 0, 1, 0,
    // IFLA_OPERSTATE IF_OPER_UP
    5, 0, 16, 0, 6, /* pad */ 0, 0, 0,
    // IFLA_ADDRESS 02:00:00:00:00:01
    10, 0, 1, 0, 2, 0, 0, 0, 0, 1, /* pad */ 0, 0,
    // IFLA_LINKINFO, 36 bytes
    36, 0, 18, 0,
    //   IFLA_INFO_KIND "bridge\0"
    11, 0, 1, 0, 0x62, 0x72, 0x69, 0x64, 0x67, 0x65, 0, /* pad */ 0,
    //   IFLA_INFO_DATA, 20 bytes: IFLA_BR_FORWARD_DELAY and IFLA_BR_VLAN_FILTERING, skipped
    20, 0, 2, 0, 8, 0, 1, 0, 0xdc, 0x05, 0, 0, 5, 0, 7, 0, 1, /* pad */ 0, 0, 0,
    // IFLA_AF_SPEC
    ...[4 + 8 + conf.length + 12, 0, 26, 0],
    //   AF_INET: IFLA_INET_CONF, one u32 per IPV4_DEVCONF_* parameter
    ...[8 + conf.length, 0, 2, 0], ...[4 + conf.length, 0, 1, 0], ...conf,
    //   AF_INET6: IFLA_INET6_ADDR_GEN_MODE, skipped
    12, 0, 10, 0, 5, 0, 8, 0, 1, /* pad */ 0, 0, 0,
    // IFLA_STATS64 (a kernel that ignored the mask): 25 counters, skipped
    204, 0, 23, 0, ...new Array(200).fill(0),
  ]);

  test("decodes the attributes it declares and skips the rest", () => {
    const msg = linkSummaryMessage.decode(only(BRIDGE_REPLY).payload, []);
    expect(msg.attrs.map((a) => a.name)).toEqual(["ifname", "mtu", "operstate", "address", "linkinfo", "afSpec"]);
    expect(attrValue(msg.attrs, "linkinfo")).toEqual([{ name: "kind", value: "bridge" }]);
  });

  test("gives the same summary as the whole decode", () => {
    const summary = toLink(linkSummaryMessage.decode(only(BRIDGE_REPLY).payload, []));
    expect(summary).toEqual({
      index: 4,
      name: "cn-ab",
      kind: "bridge",
      flags: 0x1003,
      up: true,
      operState: "UP",
      mtu: 1500,
      mac: "02:00:00:00:00:01",
      ipv4Conf: { forwarding: 0, rpFilter: 0, arpNotify: 0, routeLocalnet: 1 },
    });
    const whole = toLink(linkMessage.decode(only(BRIDGE_REPLY).payload, []));
    for (const key of ["index", "name", "kind", "flags", "up", "operState", "mtu", "mac", "master", "ipv4Conf"] as const) expect(summary[key]).toEqual(whole[key]);
  });
});
