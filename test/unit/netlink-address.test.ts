// Golden bytes for RTM_NEWADDR, as the kernel dumps them. Little-endian, like the hosts ctrnet runs on.
import { describe, expect, test } from "bun:test";
import { addressMessage, defaultBroadcast, toAddress } from "../../src/netlink/addresses.ts";
import { parseCidr } from "../../src/ip/codec.ts";
import { addressMessage as addressCodec, RTM_NEWADDR, type AddressMessage } from "../../src/netlink/msg-address.ts";
import { encodeMessage, splitMessages, type NlMessage } from "../../src/netlink/wire.ts";

function only(bytes: Uint8Array): NlMessage {
  const messages = splitMessages(bytes);
  expect(messages).toHaveLength(1);
  return messages[0]!;
}

function reencode(msg: NlMessage, body: AddressMessage): Uint8Array {
  return encodeMessage(msg, (w) => addressCodec.encode(w, body));
}

const IPV4 = Uint8Array.from([
  // nlmsghdr
  84, 0, 0, 0, //            nlmsg_len 84
  20, 0, //                  RTM_NEWADDR
  2, 0, //                   NLM_F_MULTI
  9, 0, 0, 0, //             seq 9
  0x34, 0x12, 0, 0, //       pid 0x1234
  // ifaddrmsg
  2, //                      family AF_INET
  24, //                     prefix length
  0x80, //                   flags IFA_F_PERMANENT
  0, //                      scope universe
  3, 0, 0, 0, //             index 3
  // IFA_ADDRESS 10.1.0.1
  8, 0, 1, 0, 10, 1, 0, 1,
  // IFA_LOCAL 10.1.0.1
  8, 0, 2, 0, 10, 1, 0, 1,
  // IFA_BROADCAST 10.1.0.255
  8, 0, 4, 0, 10, 1, 0, 255,
  // IFA_LABEL "v0\0": length 7, one byte of padding
  7, 0, 3, 0, 0x76, 0x30, 0, /* pad */ 0,
  // IFA_FLAGS IFA_F_PERMANENT
  8, 0, 8, 0, 0x80, 0, 0, 0,
  // IFA_CACHEINFO (struct ifa_cacheinfo), not in the table: preferred and valid forever, two timestamps
  20, 0, 6, 0,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5a, 0xd2, 0x01, 0, 0x5a, 0xd2, 0x01, 0,
]);

const IPV6_LINK_LOCAL = Uint8Array.from([
  // nlmsghdr
  80, 0, 0, 0, //            nlmsg_len 80
  20, 0, //                  RTM_NEWADDR
  2, 0, //                   NLM_F_MULTI
  9, 0, 0, 0, //             seq 9
  0x34, 0x12, 0, 0, //       pid 0x1234
  // ifaddrmsg
  10, //                     family AF_INET6
  64, //                     prefix length
  0xc0, //                   flags IFA_F_PERMANENT | IFA_F_TENTATIVE
  253, //                    scope link
  2, 0, 0, 0, //             index 2
  // IFA_ADDRESS fe80::c4b5:f5ff:fee8:5d93 (IPv6 has no IFA_LOCAL)
  20, 0, 1, 0,
  0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xc4, 0xb5, 0xf5, 0xff, 0xfe, 0xe8, 0x5d, 0x93,
  // IFA_CACHEINFO, not in the table
  20, 0, 6, 0,
  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5a, 0xd2, 0x01, 0, 0x5a, 0xd2, 0x01, 0,
  // IFA_FLAGS
  8, 0, 8, 0, 0xc0, 0, 0, 0,
  // IFA_PROTO IFAPROT_KERNEL_LL: a u8, so length 5 and three bytes of padding
  5, 0, 11, 0, 3, /* pad */ 0, 0, 0,
]);

describe("RTM_NEWADDR IPv4", () => {
  test("decodes field by field", () => {
    const msg = only(IPV4);
    expect(msg).toMatchObject({ type: RTM_NEWADDR, flags: 2, seq: 9, pid: 0x1234 });
    const body = addressCodec.decode(msg.payload, []);
    expect(body.header).toEqual({ family: 2, prefixLength: 24, flags: 0x80, scope: 0, index: 3 });
    expect(body.attrs).toEqual([
      { name: "address", value: "10.1.0.1" },
      { name: "local", value: "10.1.0.1" },
      { name: "broadcast", value: "10.1.0.255" },
      { name: "label", value: "v0" },
      { name: "flags", value: 0x80 },
      { name: null, type: 6, value: IPV4.subarray(68) },
    ]);
    expect(toAddress(body)).toEqual({
      family: 4,
      index: 3,
      address: "10.1.0.1",
      prefixLength: 24,
      broadcast: "10.1.0.255",
      label: "v0",
      scope: 0,
      flags: 0x80,
    });
  });

  test("re-encodes to the same bytes", () => {
    const msg = only(IPV4);
    expect(reencode(msg, addressCodec.decode(msg.payload, []))).toEqual(IPV4);
  });
});

describe("RTM_NEWADDR IPv6", () => {
  test("decodes field by field", () => {
    const msg = only(IPV6_LINK_LOCAL);
    const body = addressCodec.decode(msg.payload, []);
    expect(body.header).toEqual({ family: 10, prefixLength: 64, flags: 0xc0, scope: 253, index: 2 });
    expect(body.attrs.map((a) => a.name)).toEqual(["address", null, "flags", "protocol"]);
    expect(body.attrs[0]).toEqual({ name: "address", value: "fe80::c4b5:f5ff:fee8:5d93" });
    expect(body.attrs[3]).toEqual({ name: "protocol", value: 3 });
    expect(toAddress(body)).toMatchObject({ family: 6, index: 2, address: "fe80::c4b5:f5ff:fee8:5d93", prefixLength: 64, scope: 253 });
  });

  test("re-encodes to the same bytes", () => {
    const msg = only(IPV6_LINK_LOCAL);
    expect(reencode(msg, addressCodec.decode(msg.payload, []))).toEqual(IPV6_LINK_LOCAL);
  });
});

describe("address requests", () => {
  test("IPv4 with a broadcast sets IFA_LOCAL and IFA_ADDRESS, as iproute2 does", () => {
    expect(addressMessage(3, parseCidr("10.1.0.1/24")!, { broadcast: "10.1.0.255" })).toEqual({
      header: { family: 2, prefixLength: 24, flags: 0, scope: 0, index: 3 },
      attrs: [
        { name: "local", value: "10.1.0.1" },
        { name: "address", value: "10.1.0.1" },
        { name: "broadcast", value: "10.1.0.255" },
      ],
    });
  });

  test("IPv6 without duplicate address detection", () => {
    expect(addressMessage(5, parseCidr("FD00::1/64")!, { noDad: true }).header).toEqual({
      family: 10,
      prefixLength: 64,
      flags: 0x02,
      scope: 0,
      index: 5,
    });
  });

  test("an IPv4 address's default broadcast is its subnet's last address (ip's brd +); none for IPv6, /31 and /32", () => {
    expect(defaultBroadcast(parseCidr("10.89.0.2/24")!)).toBe("10.89.0.255");
    expect(defaultBroadcast(parseCidr("10.50.51.130/26")!)).toBe("10.50.51.191");
    expect(defaultBroadcast(parseCidr("172.16.0.1/12")!)).toBe("172.31.255.255");
    expect(defaultBroadcast(parseCidr("10.0.0.1/30")!)).toBe("10.0.0.3");
    expect(defaultBroadcast(parseCidr("10.0.0.1/31")!)).toBeUndefined();
    expect(defaultBroadcast(parseCidr("10.0.0.1/32")!)).toBeUndefined();
    expect(defaultBroadcast(parseCidr("fd00::2/64")!)).toBeUndefined();
  });

  test("a broadcast of the other family is refused", () => {
    expect(() => addressMessage(3, parseCidr("fd00::1/64")!, { broadcast: "10.1.0.255" })).toThrow(/not in the family/);
  });
});
