// The answering rules, without sockets: who sees which names, what is answered locally, what is forwarded.
import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { decide, type Decision, Resolver } from "../../src/drivers/dns/resolver.ts";
import { decodeMessage, encodeMessage, type Message, RCODE, TYPE } from "../../src/drivers/dns/wire.ts";
import { reverseAddress, Zone } from "../../src/drivers/dns/zone.ts";
import { type DnsConfig, dnsSchemas, type DnsMember } from "../../src/schema/dns.ts";

const CONFIG = v.parse(dnsSchemas().DnsConfig, {
  generation: 1,
  networks: [
    {
      name: "front",
      gateways: ["10.89.0.1", "fd89::1"],
      subnets: ["10.89.0.0/24", "fd89::/64"],
      containers: [
        { name: "web", id: "aaaaaaaaaaaa", aliases: ["www", "Portal"], ipv4: ["10.89.0.2"], ipv6: ["fd89::2"] },
        { name: "db", id: "bbbbbbbbbbbb", ipv4: ["10.89.0.3"] },
      ],
    },
    {
      name: "back",
      gateways: ["10.90.0.1"],
      subnets: ["10.90.0.0/24"],
      containers: [
        { name: "db", id: "bbbbbbbbbbbb", ipv4: ["10.90.0.3"] },
        { name: "cache", id: "cccccccccccc", ipv4: ["10.90.0.4"] },
      ],
    },
    {
      name: "sealed",
      gateways: ["10.91.0.1"],
      subnets: ["10.91.0.0/24"],
      internal: true,
      containers: [{ name: "vault", id: "dddddddddddd", ipv4: ["10.91.0.2"] }],
    },
  ],
});
const zone = new Zone(CONFIG);

function query(name: string, type: number, extra: Partial<Message> = {}): Uint8Array {
  return encodeMessage({
    header: { id: 77, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0 },
    questions: [{ name, type, class: 1 }],
    answers: [],
    authorities: [],
    additionals: [],
    ...extra,
  });
}

function reply(d: Decision): Message {
  if (d.kind !== "reply") throw new Error(`expected a reply, got ${d.kind}`);
  return decodeMessage(d.bytes);
}

const ask = (client: string, name: string, type: number = TYPE.A) => reply(decide(zone, query(name, type), client, true));
const data = (m: Message) => m.answers.map((a) => a.data);

describe("names", () => {
  test("a container's name, alias and short id give its addresses, TTL 0, authoritative, id and question echoed", () => {
    // podman's domain too (e2e: nslookup NAME.dns.podman, nc NAME.dns.podman)
    for (const name of ["web", "www", "aaaaaaaaaaaa", "web.dns.ctrnet", "WEB.DNS.CTRNET", "portal", "web.dns.podman"]) {
      const m = ask("10.89.0.3", name);
      expect(m.header).toMatchObject({ id: 77, qr: true, aa: true, rd: true, ra: true, rcode: RCODE.NOERROR });
      expect(m.questions).toEqual([{ name, type: TYPE.A, class: 1 }]);
      expect(m.answers).toEqual([{ name, type: TYPE.A, class: 1, ttl: 0, data: { kind: "A", address: "10.89.0.2" } }]);
    }
    expect(data(ask("fd89::3", "web", TYPE.AAAA))).toEqual([{ kind: "AAAA", address: "fd89::2" }]);
  });

  test("a name without an address of the asked family is NODATA: NOERROR, no answers", () => {
    const m = ask("10.89.0.2", "db", TYPE.AAAA);
    expect(m.header.rcode).toBe(RCODE.NOERROR);
    expect(m.answers).toEqual([]);
    expect(ask("10.89.0.2", "web", TYPE.TXT).answers).toEqual([]);
  });

  test("a client sees only its own networks' containers", () => {
    expect(ask("10.90.0.9", "web.dns.ctrnet").header.rcode).toBe(RCODE.NXDOMAIN);
    expect(data(ask("10.90.0.9", "db"))).toEqual([{ kind: "A", address: "10.90.0.3" }]);
    expect(data(ask("10.89.0.9", "db"))).toEqual([{ kind: "A", address: "10.89.0.3" }]);
  });

  test("a container on two networks sees both, whichever address it asks from", () => {
    expect(data(ask("10.89.0.3", "cache"))).toEqual([{ kind: "A", address: "10.90.0.4" }]);
    expect(data(ask("10.90.0.3", "www"))).toEqual([{ kind: "A", address: "10.89.0.2" }]);
  });

  test("an unknown name under the search domain is NXDOMAIN, not forwarded", () => {
    const m = ask("10.89.0.2", "nobody.dns.ctrnet");
    expect(m.header).toMatchObject({ rcode: RCODE.NXDOMAIN, aa: true });
    expect(ask("10.89.0.2", "nobody.dns.podman").header).toMatchObject({ rcode: RCODE.NXDOMAIN, aa: true });
  });

  test("other names are forwarded, except for clients only on internal networks (NXDOMAIN)", () => {
    expect(decide(zone, query("example.com", TYPE.A), "10.89.0.2", true).kind).toBe("forward");
    expect(decide(zone, query("nobody", TYPE.A), "10.89.0.2", true).kind).toBe("forward");
    expect(ask("10.91.0.2", "example.com").header.rcode).toBe(RCODE.NXDOMAIN);
    expect(data(ask("10.91.0.5", "vault"))).toEqual([{ kind: "A", address: "10.91.0.2" }]);
  });
});

describe("reverse", () => {
  test("in-addr.arpa and ip6.arpa names", () => {
    expect(reverseAddress("2.0.89.10.in-addr.arpa")).toBe("10.89.0.2");
    expect(reverseAddress("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.8.d.f.IP6.ARPA")).toBe("fd89::2");
    expect(reverseAddress("0.89.10.in-addr.arpa")).toBeNull();
    expect(reverseAddress("x.0.89.10.in-addr.arpa")).toBeNull();
    expect(reverseAddress("web.dns.ctrnet")).toBeNull();
  });

  test("PTR gives the container's bare names, as aardvark-dns, for the client's networks only", () => {
    expect(data(ask("10.89.0.3", "2.0.89.10.in-addr.arpa", TYPE.PTR))).toEqual(
      ["web", "www", "Portal", "aaaaaaaaaaaa"].map((n) => ({ kind: "name", name: n })),
    );
    expect(decide(zone, query("2.0.89.10.in-addr.arpa", TYPE.PTR), "10.90.0.9", true).kind).toBe("forward");
  });
});

describe("refusals and errors", () => {
  test("a client outside every subnet is REFUSED", () => {
    expect(ask("192.168.1.5", "web").header.rcode).toBe(RCODE.REFUSED);
    expect(ask("::ffff:10.89.0.3", "web").header.rcode).toBe(RCODE.NOERROR);
  });

  test("a packet that does not decode is FORMERR with its id; one too short for a header is dropped", () => {
    const bad = Uint8Array.from([0, 42, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61]);
    expect(reply(decide(zone, bad, "10.89.0.2", true)).header).toMatchObject({ id: 42, qr: true, rcode: RCODE.FORMERR });
    expect(decide(zone, bad.subarray(0, 11), "10.89.0.2", true).kind).toBe("drop");
  });

  test("corrupted queries always get a decision, never an exception", () => {
    const base = query("web.dns.ctrnet", TYPE.A, { edns: { udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: false, options: new Uint8Array(0) } });
    let seed = 53;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const kinds = new Set<string>();
    for (let round = 0; round < 5000; round++) {
      const b = Uint8Array.from(base);
      for (let k = 0; k < 1 + Math.floor(random() * 3); k++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
      kinds.add(decide(zone, b.subarray(0, Math.floor(random() * (b.length + 1))), "10.89.0.2", true).kind);
    }
    expect([...kinds].sort()).toEqual(["drop", "forward", "reply"]);
  });

  test("responses are never answered", () => {
    const response = query("web", TYPE.A);
    response[2]! |= 0x80;
    expect(decide(zone, response, "10.89.0.2", true).kind).toBe("drop");
  });

  test("other opcodes are NOTIMP, two questions FORMERR, EDNS version 1 BADVERS", () => {
    const notify = query("web", TYPE.A);
    notify[2] = (notify[2]! & 0x87) | (4 << 3);
    expect(reply(decide(zone, notify, "10.89.0.2", true)).header.rcode).toBe(RCODE.NOTIMP);
    const two = encodeMessage({ ...decodeMessage(query("web", TYPE.A)), questions: [{ name: "web", type: 1, class: 1 }, { name: "db", type: 1, class: 1 }] });
    expect(reply(decide(zone, two, "10.89.0.2", true)).header.rcode).toBe(RCODE.FORMERR);
    const v1 = query("web", TYPE.A, { edns: { udpSize: 1232, extendedRcode: 0, version: 1, dnssecOk: false, options: new Uint8Array(0) } });
    const m = reply(decide(zone, v1, "10.89.0.2", true));
    expect([m.header.rcode, m.edns?.extendedRcode]).toEqual([0, 1]);
  });

  test("an answer larger than the client's UDP limit is truncated with TC; over TCP it is whole", () => {
    const many = v.parse(dnsSchemas().DnsConfig, {
      generation: 1,
      networks: [{ name: "big", gateways: [], subnets: ["10.100.0.0/16"], containers: Array.from({ length: 60 }, (_, i) => ({ name: "many", id: i.toString(16).padStart(12, "0"), ipv4: [`10.100.1.${i + 1}`] })) }],
    });
    const bigZone = new Zone(many);
    const udp = reply(decide(bigZone, query("many", TYPE.A), "10.100.0.9", true));
    expect([udp.header.tc, udp.answers.length]).toEqual([true, 0]);
    const tcp = reply(decide(bigZone, query("many", TYPE.A), "10.100.0.9", false));
    expect([tcp.header.tc, tcp.answers.length]).toEqual([false, 60]);
    const edns = query("many", TYPE.A, { edns: { udpSize: 4096, extendedRcode: 0, version: 0, dnssecOk: false, options: new Uint8Array(0) } });
    const big = reply(decide(bigZone, edns, "10.100.0.9", true));
    expect([big.header.tc, big.answers.length, big.edns?.udpSize]).toEqual([false, 60, 1232]);
  });
});

describe("remembered answers", () => {
  test("a repeated query gets the same answer with its own id; other clients and transports are answered for themselves", () => {
    const resolver = new Resolver(zone);
    const first = query("web", TYPE.A);
    expect(reply(resolver.decide(first, "10.89.0.3", true)).header.id).toBe(77);
    const again = Uint8Array.from(first);
    again[0] = 0xab;
    again[1] = 0xcd;
    const m = reply(resolver.decide(again, "10.89.0.3", true));
    expect([m.header.id, data(m)]).toEqual([0xabcd, [{ kind: "A", address: "10.89.0.2" }]]);
    expect(resolver.decide(again, "10.90.0.9", true).kind).toBe("forward");
    expect(reply(resolver.decide(again, "192.0.2.1", true)).header.rcode).toBe(RCODE.REFUSED);
    const upper = query("WEB", TYPE.A);
    expect(reply(resolver.decide(upper, "10.89.0.3", true)).answers[0]!.name).toBe("WEB");
  });

  test("forwarded and dropped queries are decided each time", () => {
    const resolver = new Resolver(zone);
    for (let i = 0; i < 2; i++) {
      expect(resolver.decide(query("example.com", TYPE.A), "10.89.0.3", true).kind).toBe("forward");
      expect(resolver.decide(Uint8Array.from([1, 2, 3]), "10.89.0.3", true).kind).toBe("drop");
    }
  });
});

describe("a network's own DNS servers (podman's network --dns)", () => {
  const withServers = new Zone(
    v.parse(dnsSchemas().DnsConfig, {
      generation: 1,
      networks: [
        { name: "own", gateways: ["10.92.0.1"], subnets: ["10.92.0.0/24"], upstreams: [{ address: "192.0.2.53" }], containers: [{ name: "a", id: "eeeeeeeeeeee", ipv4: ["10.92.0.2"] }] },
        { name: "also", gateways: ["10.93.0.1"], subnets: ["10.93.0.0/24"], upstreams: [{ address: "192.0.2.54", port: 5353 }], containers: [{ name: "a", id: "eeeeeeeeeeee", ipv4: ["10.93.0.2"] }] },
        {
          name: "plain",
          gateways: ["10.94.0.1"],
          subnets: ["10.94.0.0/24"],
          containers: [
            { name: "p", id: "ffffffffffff", ipv4: ["10.94.0.2"] },
            { name: "q", id: "dddddddddddd", ipv4: ["10.94.0.3"], dnsServers: ["192.0.2.99"] },
          ],
        },
        { name: "owned", gateways: ["10.95.0.1"], subnets: ["10.95.0.0/24"], upstreams: [{ address: "192.0.2.53" }], containers: [{ name: "r", id: "cccccccccccc", ipv4: ["10.95.0.2"], dnsServers: ["192.0.2.98"] }] },
      ],
    }),
  );
  const forwardOf = (client: string) => {
    const d = decide(withServers, query("example.com", TYPE.A), client, true);
    if (d.kind !== "forward") throw new Error(`expected forward, got ${d.kind}`);
    return d.upstreams;
  };

  test("forwarded queries name the client's networks' servers, each once, in order", () => {
    expect(forwardOf("10.92.0.2")).toEqual([
      { address: "192.0.2.53", port: 53 },
      { address: "192.0.2.54", port: 5353 },
    ]);
  });

  test("a container's own --dns servers come first, before its networks' (aardvark-dns's per-container servers)", () => {
    expect(forwardOf("10.94.0.3")).toEqual([{ address: "192.0.2.99", port: 53 }]);
    expect(forwardOf("10.95.0.2")).toEqual([{ address: "192.0.2.98", port: 53 }]);
  });

  test("a client of networks without any keeps the server-wide upstreams", () => {
    expect(forwardOf("10.94.0.2")).toBeUndefined();
    // and names still answered locally
    expect(data(reply(decide(withServers, query("p", TYPE.A), "10.94.0.2", true)))).toEqual([{ kind: "A", address: "10.94.0.2" }]);
  });
});

describe("a zone changed one member at a time", () => {
  // CONFIG's networks without their containers, which come as member files do instead
  const frame = v.parse(dnsSchemas().DnsConfig, { ...CONFIG, networks: CONFIG.networks.map((n) => ({ ...n, gateways: [], containers: [] })) });
  const gatewayOf = new Map(CONFIG.networks.map((n) => [n.name, n.gateways]));
  function membersOf(config: DnsConfig): Map<string, DnsMember> {
    const out = new Map<string, DnsMember>();
    for (const n of config.networks) {
      for (const c of n.containers) {
        const m = out.get(c.id) ?? { networks: [] };
        m.networks.push({ network: n.name, gateways: gatewayOf.get(n.name)!, container: c });
        out.set(c.id, m);
      }
    }
    return out;
  }
  const members = membersOf(CONFIG);
  const clients = ["10.89.0.2", "10.89.0.3", "10.90.0.3", "10.90.0.4", "10.90.0.9", "10.91.0.2", "fd89::2", "192.0.2.1"];
  const names = ["web", "www", "portal", "db", "cache", "vault", "aaaaaaaaaaaa", "bbbbbbbbbbbb", "nobody", "db.dns.ctrnet", "example.com"];
  const ptrs = ["2.0.89.10.in-addr.arpa", "3.0.89.10.in-addr.arpa", "3.0.90.10.in-addr.arpa", "2.0.91.10.in-addr.arpa"];
  /** Every answer a battery of queries gets: what a zone serves, as clients see it. */
  const answers = (z: Zone) =>
    clients.flatMap((client) => [
      ...names.flatMap((name) => [TYPE.A, TYPE.AAAA].map((type) => decide(z, query(name, type), client, true))),
      ...ptrs.map((name) => decide(z, query(name, TYPE.PTR), client, true)),
    ]);

  test("answers as the zone built whole, through additions, a replacement and removals; counts its members", () => {
    const z = new Zone(frame);
    expect(z.size).toBe(0);
    // a client of a network without members is refused there, and nothing listens
    expect(reply(decide(z, query("web", TYPE.A), "10.89.0.2", true)).header.rcode).toBe(RCODE.REFUSED);
    expect(z.gateways()).toEqual([]);
    z.setMember("temp", { networks: [{ network: "front", gateways: ["10.89.0.1"], container: { name: "web", id: "eeeeeeeeeeee", aliases: ["db"], ipv4: ["10.89.0.2"], ipv6: [] } }] });
    for (const [key, m] of members) z.setMember(key, m);
    // db moves and comes back; temp goes; a member of a network the configuration lacks counts for nothing
    z.setMember("bbbbbbbbbbbb", { networks: [{ network: "front", gateways: ["10.89.0.1"], container: { name: "db", id: "bbbbbbbbbbbb", aliases: [], ipv4: ["10.89.0.77"], ipv6: [] } }] });
    z.setMember("bbbbbbbbbbbb", members.get("bbbbbbbbbbbb"));
    z.setMember("temp", undefined);
    z.setMember("gone", { networks: [{ network: "elsewhere", gateways: ["10.99.0.1"], container: { name: "x", id: "x", aliases: [], ipv4: ["10.99.0.2"], ipv6: [] } }] });
    expect(z.size).toBe(4);
    expect(answers(z)).toEqual(answers(zone));
    expect(answers(new Zone(frame, members))).toEqual(answers(zone));
    expect(z.gateways()).toEqual(["10.89.0.1", "fd89::1", "10.90.0.1", "10.91.0.1"]);
  });

  test("the last member of a network gone: its gateway is no longer listened on, its clients are refused", () => {
    const z = new Zone(frame, members);
    z.setMember("cccccccccccc", undefined);
    expect(z.gateways()).toContain("10.90.0.1");
    // db is on back too; once it leaves back (staying on front), back is empty
    z.setMember("bbbbbbbbbbbb", { networks: members.get("bbbbbbbbbbbb")!.networks.filter((n) => n.network === "front") });
    expect(z.gateways()).toEqual(["10.89.0.1", "fd89::1", "10.91.0.1"]);
    expect(reply(decide(z, query("db", TYPE.A), "10.90.0.9", true)).header.rcode).toBe(RCODE.REFUSED);
    expect(reply(decide(z, query("db", TYPE.A), "10.89.0.2", true)).answers.map((a) => a.data)).toEqual([{ kind: "A", address: "10.89.0.3" }]);
  });
});
