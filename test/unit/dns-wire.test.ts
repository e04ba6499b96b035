// Golden bytes for the DNS codec: a query as dig sends it (EDNS0 with a cookie option) and an answer that
// uses compression in owner names and in record data; then the ways a packet can lie about its lengths.
import { describe, expect, test } from "bun:test";
import { decodeHeader, decodeMessage, DnsFormatError, encodeMessage, type Message, TYPE } from "../../src/drivers/dns/wire.ts";

const label = (text: string): number[] => [text.length, ...Buffer.from(text, "latin1")];

const QUERY = Uint8Array.from([
  0x12, 0x34, //                 id
  0x01, 0x20, //                 RD, AD
  0, 1, 0, 0, 0, 0, 0, 1, //     1 question, 1 additional (the OPT record)
  ...label("web"), ...label("dns"), ...label("ctrnet"), 0, // offset 12: web.dns.ctrnet
  0, 1, 0, 1, //                 A, IN
  0, //                          OPT: root owner
  0, 41, //                      type OPT
  0x04, 0xd0, //                 UDP payload size 1232
  0, 0, 0x80, 0, //              extended rcode 0, version 0, DO
  0, 12, //                      12 octets of options
  0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, // COOKIE: an 8-octet client cookie
]);

const QUERY_MESSAGE: Message = {
  header: { id: 0x1234, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: true, cd: false, rcode: 0 },
  questions: [{ name: "web.dns.ctrnet", type: TYPE.A, class: 1 }],
  answers: [],
  authorities: [],
  additionals: [],
  edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true, options: Uint8Array.from([0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]) },
};

const ANSWER = Uint8Array.from([
  0x12, 0x34, //                 id
  0x85, 0x80, //                 QR, AA, RD, RA; NOERROR
  0, 1, 0, 2, 0, 1, 0, 3, //     1 question, 2 answers, 1 authority, 3 additional
  ...label("web"), ...label("dns"), ...label("ctrnet"), 0, // offset 12: web.dns.ctrnet; dns.ctrnet is at 16
  0, 1, 0, 1, //                 A, IN
  // offset 32: web.dns.ctrnet CNAME www.dns.ctrnet
  0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 0, 0, 6,
  ...label("www"), 0xc0, 16, //  offset 44: www + pointer to dns.ctrnet
  // offset 50: www.dns.ctrnet A 10.89.0.2
  0xc0, 44, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 89, 0, 2,
  // offset 66: dns.ctrnet SOA ns.dns.ctrnet hostmaster.dns.ctrnet 1 3600 600 86400 60, TTL 60
  0xc0, 16, 0, 6, 0, 1, 0, 0, 0, 60, 0, 38,
  ...label("ns"), 0xc0, 16,
  ...label("hostmaster"), 0xc0, 16,
  0, 0, 0, 1, 0, 0, 0x0e, 0x10, 0, 0, 0x02, 0x58, 0, 1, 0x51, 0x80, 0, 0, 0, 60,
  // offset 116: web.dns.ctrnet TXT "hello", kept as opaque bytes
  0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 0, 0, 6, ...label("hello"),
  // offset 134: www.dns.ctrnet AAAA fd00::2
  0xc0, 44, 0, 28, 0, 1, 0, 0, 0, 0, 0, 16, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
  // offset 162: 2.0.89.10.in-addr.arpa PTR www.dns.ctrnet
  ...label("2"), ...label("0"), ...label("89"), ...label("10"), ...label("in-addr"), ...label("arpa"), 0,
  0, 12, 0, 1, 0, 0, 0, 0, 0, 2, 0xc0, 44,
]);

const ANSWER_MESSAGE: Message = {
  header: { id: 0x1234, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: 0 },
  questions: [{ name: "web.dns.ctrnet", type: TYPE.A, class: 1 }],
  answers: [
    { name: "web.dns.ctrnet", type: TYPE.CNAME, class: 1, ttl: 0, data: { kind: "name", name: "www.dns.ctrnet" } },
    { name: "www.dns.ctrnet", type: TYPE.A, class: 1, ttl: 0, data: { kind: "A", address: "10.89.0.2" } },
  ],
  authorities: [
    {
      name: "dns.ctrnet",
      type: TYPE.SOA,
      class: 1,
      ttl: 60,
      data: { kind: "SOA", mname: "ns.dns.ctrnet", rname: "hostmaster.dns.ctrnet", serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
    },
  ],
  additionals: [
    { name: "web.dns.ctrnet", type: TYPE.TXT, class: 1, ttl: 0, data: { kind: "opaque", bytes: Uint8Array.from(label("hello")) } },
    { name: "www.dns.ctrnet", type: TYPE.AAAA, class: 1, ttl: 0, data: { kind: "AAAA", address: "fd00::2" } },
    { name: "2.0.89.10.in-addr.arpa", type: TYPE.PTR, class: 1, ttl: 0, data: { kind: "name", name: "www.dns.ctrnet" } },
  ],
};

describe("golden bytes", () => {
  test("a query with EDNS0 decodes field by field and encodes to the same bytes", () => {
    expect(decodeMessage(QUERY)).toEqual(QUERY_MESSAGE);
    expect(encodeMessage(QUERY_MESSAGE)).toEqual(QUERY);
  });

  test("an answer with compressed names decodes and encodes back to the same bytes", () => {
    expect(decodeMessage(ANSWER)).toEqual(ANSWER_MESSAGE);
    expect(encodeMessage(ANSWER_MESSAGE)).toEqual(ANSWER);
  });

  test("compression matches names case-insensitively and keeps each name's own case", () => {
    const m: Message = { ...ANSWER_MESSAGE, questions: [{ name: "WeB.DnS.CtrNet", type: TYPE.A, class: 1 }], authorities: [], additionals: [] };
    const bytes = encodeMessage(m);
    expect(bytes.length).toBe(66);
    expect(decodeMessage(bytes).questions[0]!.name).toBe("WeB.DnS.CtrNet");
    expect(decodeMessage(bytes).answers[0]!.name).toBe("WeB.DnS.CtrNet");
  });

  test("labels with dots, backslashes and unprintable octets round-trip through escapes", () => {
    const name = "a\\.b.c\\\\d.\\000\\255x";
    const bytes = encodeMessage({ ...QUERY_MESSAGE, questions: [{ name, type: TYPE.TXT, class: 1 }] });
    expect([...bytes.subarray(12, 26)]).toEqual([3, 0x61, 0x2e, 0x62, 3, 0x63, 0x5c, 0x64, 3, 0, 255, 0x78, 0, 0]);
    expect(decodeMessage(bytes).questions[0]!.name).toBe(name);
  });

  test("the header alone is readable from 12 octets, and not from fewer", () => {
    expect(decodeHeader(QUERY.subarray(0, 12))?.id).toBe(0x1234);
    expect(decodeHeader(QUERY.subarray(0, 11))).toBeNull();
  });
});

describe("malformed packets throw DnsFormatError, nothing else", () => {
  const withBytes = (at: number, values: number[], base: ArrayLike<number> = QUERY): Uint8Array => {
    const b = Uint8Array.from(base);
    b.set(values, at);
    return b;
  };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["a compression pointer to itself", withBytes(12, [0xc0, 12]), /does not point backwards/],
    ["a forward compression pointer", withBytes(12, [0xc0, 20]), /does not point backwards/],
    ["a label type 0x40", withBytes(12, [0x41]), /unsupported label type 0x40/],
    ["a label past the end", Uint8Array.from([...QUERY.subarray(0, 12), 40, 0x61]), /label runs past the end/],
    ["an OPT record that claims more options than there are", withBytes(QUERY.length - 14, [0, 13]), /record data runs past the end/],
    ["octets after the last record", Uint8Array.from([...QUERY, 0]), /1 octets after the last record/],
    ["one more question than there is", withBytes(5, [2]), /runs past the end/],
    ["two OPT records", withBytes(11, [2], Uint8Array.from([...QUERY, ...QUERY.subarray(32)])), /more than one OPT record/],
    ["an OPT record in the answer section", withBytes(7, [1], withBytes(11, [0])), /OPT record in the answer section/],
    ["an OPT record with an owner name", withBytes(11, [1], Uint8Array.from([...QUERY.subarray(0, 32), 1, 0x61, ...QUERY.subarray(32)])), /not the root/],
    ["an A record with 5 octets", Uint8Array.from([...ANSWER.subarray(0, 60), 0, 5, 10, 89, 0, 2, 0]), /A record has 5 octets/],
  ];
  for (const [what, bytes, message] of cases) {
    test(what, () => {
      expect(() => decodeMessage(bytes)).toThrow(DnsFormatError);
      expect(() => decodeMessage(bytes)).toThrow(message);
    });
  }

  test("a name of more than 255 octets, built from pointers to earlier names", () => {
    // Four questions, each one label of 63 octets in front of the name before it: the fourth is 257 octets.
    const parts: number[] = [0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, ...label("a".repeat(63)), 0, 0, 1, 0, 1];
    let prev = 12;
    for (let i = 0; i < 3; i++) {
      const at = parts.length;
      parts.push(...label("b".repeat(63)), 0xc0, prev, 0, 1, 0, 1);
      prev = at;
    }
    expect(() => decodeMessage(Uint8Array.from(parts))).toThrow(/longer than 255 octets/);
    parts[5] = 3;
    expect(decodeMessage(Uint8Array.from(parts.slice(0, -70))).questions[2]!.name).toHaveLength(63 * 3 + 2);
  });

  test("every proper prefix of a valid answer is rejected", () => {
    for (let n = 0; n < ANSWER.length; n++) expect(() => decodeMessage(ANSWER.subarray(0, n))).toThrow(DnsFormatError);
  });

  test("random corruption of a valid answer either decodes or throws DnsFormatError", () => {
    let seed = 15;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 5000; round++) {
      const b = Uint8Array.from(ANSWER);
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
      try {
        const m = decodeMessage(b);
        decodeMessage(encodeMessage(m));
      } catch (err) {
        expect(err).toBeInstanceOf(DnsFormatError);
      }
    }
  });

  test("encoding refuses names it cannot put on the wire", () => {
    const bad = (name: string) => () => encodeMessage({ ...QUERY_MESSAGE, questions: [{ name, type: 1, class: 1 }] });
    expect(bad("a..b")).toThrow(/empty label/);
    expect(bad(`${"x".repeat(64)}.ctrnet`)).toThrow(/longer than 63/);
    expect(bad(Array(130).fill("ab").join("."))).toThrow(/longer than 255/);
  });
});
