// Golden bytes for RTM_NEWRULE: `ip rule add fwmark 0x2a lookup 100 priority 1000`, as ctrnet sends it. Little-endian.
import { describe, expect, test } from "bun:test";
import { ruleMessage as ruleCodec, RTM_NEWRULE } from "../../src/netlink/msg-rule.ts";
import { describeRule, ruleMessage, toRule } from "../../src/netlink/rules.ts";
import { routeMessage } from "../../src/netlink/routes.ts";
import { encodeMessage, splitMessages } from "../../src/netlink/wire.ts";

const FWMARK_RULE = Uint8Array.from([
  // nlmsghdr
  60, 0, 0, 0, //            nlmsg_len 60
  32, 0, //                  RTM_NEWRULE
  0x01, 0x06, //             NLM_F_REQUEST | NLM_F_EXCL | NLM_F_CREATE (0x601)
  7, 0, 0, 0, //             seq 7
  0, 0, 0, 0, //             pid 0
  // fib_rule_hdr
  2, //                      family AF_INET
  0, //                      dst_len
  0, //                      src_len
  0, //                      tos
  100, //                    table 100
  0, 0, //                   res1, res2
  1, //                      action FR_ACT_TO_TBL
  0, 0, 0, 0, //             flags
  // FRA_TABLE 100
  8, 0, 15, 0, 100, 0, 0, 0,
  // FRA_FWMARK 0x2a
  8, 0, 10, 0, 0x2a, 0, 0, 0,
  // FRA_FWMASK 0xffffffff
  8, 0, 16, 0, 0xff, 0xff, 0xff, 0xff,
  // FRA_PRIORITY 1000
  8, 0, 6, 0, 0xe8, 0x03, 0, 0,
]);

describe("RTM_NEWRULE fwmark rule", () => {
  const spec = { family: 4 as const, fwmark: 0x2a, table: 100, priority: 1000 };

  test("the typed API encodes the golden bytes", () => {
    const bytes = encodeMessage({ type: RTM_NEWRULE, flags: 0x601, seq: 7, pid: 0 }, (w) => ruleCodec.encode(w, ruleMessage(spec)));
    expect(bytes).toEqual(FWMARK_RULE);
  });

  test("decodes field by field and re-encodes to the same bytes", () => {
    const [msg, ...rest] = splitMessages(FWMARK_RULE);
    expect(rest).toHaveLength(0);
    const body = ruleCodec.decode(msg!.payload, []);
    expect(body.header).toEqual({ family: 2, dstLength: 0, srcLength: 0, tos: 0, table: 100, action: 1, flags: 0 });
    expect(toRule(body)).toEqual({ family: 4, priority: 1000, fwmark: 0x2a, fwmask: 0xffffffff, table: 100, action: 1 });
    expect(encodeMessage(msg!, (w) => ruleCodec.encode(w, body))).toEqual(FWMARK_RULE);
  });

  test("described as ip would say it", () => {
    expect(describeRule(spec)).toBe("IPv4 rule priority 1000 fwmark 0x2a lookup 100");
  });
});

describe("local routes", () => {
  test("`local default dev lo table 100`: type local, scope host, the table in the header and RTA_TABLE", () => {
    const msg = routeMessage({ family: 6, type: "local", dst: "default", table: 100 }, 1, "add");
    expect(msg.header).toMatchObject({ family: 10, dstLength: 0, table: 100, type: 2, scope: 254 });
    expect(msg.attrs).toEqual([
      { name: "table", value: 100 },
      { name: "oif", value: 1 },
    ]);
  });

  test("a local route with a gateway is refused", () => {
    expect(() => routeMessage({ type: "local", dst: "10.0.0.0/8", gateway: "10.0.0.1" }, undefined, "add")).toThrow("a local route has no gateway");
  });
});
