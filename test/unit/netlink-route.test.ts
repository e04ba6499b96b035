// Golden bytes for RTM_NEWROUTE: a default route as the kernel dumps it. Little-endian.
import { describe, expect, test } from "bun:test";
import { routeMessage as routeCodec, RTM_NEWROUTE } from "../../src/netlink/msg-route.ts";
import { routeMessage, toRoute } from "../../src/netlink/routes.ts";
import { encodeMessage, splitMessages } from "../../src/netlink/wire.ts";

const DEFAULT_ROUTE = Uint8Array.from([
  // nlmsghdr
  52, 0, 0, 0, //            nlmsg_len 52
  24, 0, //                  RTM_NEWROUTE
  2, 0, //                   NLM_F_MULTI
  4, 0, 0, 0, //             seq 4
  0x34, 0x12, 0, 0, //       pid 0x1234
  // rtmsg
  2, //                      family AF_INET
  0, //                      dst_len 0: the default route, so no RTA_DST
  0, //                      src_len
  0, //                      tos
  254, //                    table main
  3, //                      protocol boot
  0, //                      scope universe
  1, //                      type unicast
  0, 0, 0, 0, //             flags
  // RTA_TABLE 254
  8, 0, 15, 0, 254, 0, 0, 0,
  // RTA_GATEWAY 10.1.0.254
  8, 0, 5, 0, 10, 1, 0, 254,
  // RTA_OIF 3
  8, 0, 4, 0, 3, 0, 0, 0,
]);

describe("RTM_NEWROUTE default route", () => {
  test("decodes field by field", () => {
    const [msg, ...rest] = splitMessages(DEFAULT_ROUTE);
    expect(rest).toHaveLength(0);
    expect(msg).toMatchObject({ type: RTM_NEWROUTE, flags: 2, seq: 4, pid: 0x1234 });
    const body = routeCodec.decode(msg!.payload, []);
    expect(body.header).toEqual({
      family: 2,
      dstLength: 0,
      srcLength: 0,
      tos: 0,
      table: 254,
      protocol: 3,
      scope: 0,
      type: 1,
      flags: 0,
    });
    expect(body.attrs).toEqual([
      { name: "table", value: 254 },
      { name: "gateway", value: "10.1.0.254" },
      { name: "oif", value: 3 },
    ]);
    expect(toRoute(body)).toMatchObject({ family: 4, dst: "default", gateway: "10.1.0.254", oif: 3, table: 254 });
  });

  test("re-encodes to the same bytes", () => {
    const [msg] = splitMessages(DEFAULT_ROUTE);
    expect(encodeMessage(msg!, (w) => routeCodec.encode(w, routeCodec.decode(msg!.payload, [])))).toEqual(DEFAULT_ROUTE);
  });

  test("the request routeAdd builds has the body the kernel reports", () => {
    const body = routeMessage({ dst: "default", gateway: "10.1.0.254" }, 3, "add");
    const [msg] = splitMessages(DEFAULT_ROUTE);
    expect(encodeMessage(msg!, (w) => routeCodec.encode(w, body))).toEqual(DEFAULT_ROUTE);
  });
});

describe("route requests", () => {
  test("a route without a gateway has link scope", () => {
    const { header, attrs } = routeMessage({ dst: "10.88.0.0/16" }, 7, "add");
    expect(header).toMatchObject({ family: 2, dstLength: 16, scope: 253, type: 1, protocol: 3, table: 254 });
    expect(attrs).toEqual([
      { name: "table", value: 254 },
      { name: "dst", value: "10.88.0.0" },
      { name: "oif", value: 7 },
    ]);
  });

  test("an IPv6 default route takes its family from the gateway; a large table goes in RTA_TABLE only", () => {
    const { header, attrs } = routeMessage({ dst: "default", gateway: "fe80::1", table: 1000, metric: 50 }, 2, "add");
    expect(header).toMatchObject({ family: 10, dstLength: 0, table: 0 });
    expect(attrs).toEqual([
      { name: "table", value: 1000 },
      { name: "gateway", value: "fe80::1" },
      { name: "oif", value: 2 },
      { name: "priority", value: 50 },
    ]);
  });

  test("a delete leaves protocol, type and scope open, as `ip route del` does", () => {
    expect(routeMessage({ dst: "10.88.0.0/16" }, undefined, "delete").header).toMatchObject({ protocol: 0, type: 0, scope: 255 });
  });

  test("mixed families are refused", () => {
    expect(() => routeMessage({ dst: "10.0.0.0/8", gateway: "fe80::1" }, undefined, "add")).toThrow(/mixes IPv4 and IPv6/);
    expect(() => routeMessage({ dst: "10.0.0.0/8", family: 6 }, undefined, "add")).toThrow(/mixes IPv4 and IPv6/);
    expect(() => routeMessage({ dst: "10.0.0.0" }, undefined, "add")).toThrow(/invalid address "10.0.0.0"/);
  });
});
