// One query in, one decision out: a local answer (container names, their addresses, errors) or "forward this".
// Pure: no sockets, so every rule aardvark-dns follows is tested here without a network.
import {
  CLASS_IN,
  CLASSIC_UDP_SIZE,
  decodeHeader,
  decodeMessage,
  DnsFormatError,
  type Edns,
  encodeMessage,
  HEADER_SIZE,
  type Message,
  OPCODE_QUERY,
  RCODE,
  type ResourceRecord,
  TYPE,
} from "./wire.ts";
import { reverseAddress, Zone } from "./zone.ts";
import type { DnsUpstream } from "../../schema/dns.ts";

/** What ctrnet offers in its own OPT record; the size DNS Flag Day 2020 settled on. */
export const EDNS_UDP_SIZE = 1232;

export type Decision =
  | { kind: "reply"; bytes: Uint8Array }
  /** Not ours to answer: send the query to the upstreams; `udpLimit` is what the client can take over UDP. */
  | { kind: "forward"; query: Message; udpLimit: number; upstreams?: DnsUpstream[] }
  | { kind: "drop" };

/** The largest UDP answer the client said it takes, within what ctrnet offers. */
export function udpLimitOf(query: Message): number {
  return query.edns ? Math.max(CLASSIC_UDP_SIZE, Math.min(query.edns.udpSize, EDNS_UDP_SIZE)) : CLASSIC_UDP_SIZE;
}

function replyTo(query: Message, rcode: number, answers: ResourceRecord[] = [], authoritative = false): Message {
  const h = query.header;
  const edns: Edns | undefined = query.edns ? { udpSize: EDNS_UDP_SIZE, extendedRcode: rcode >> 4, version: 0, dnssecOk: false, options: new Uint8Array(0) } : undefined;
  return {
    header: { id: h.id, qr: true, opcode: h.opcode, aa: authoritative, tc: false, rd: h.rd, ra: true, ad: false, cd: h.cd, rcode: rcode & 0xf },
    questions: query.questions,
    answers,
    authorities: [],
    additionals: [],
    ...(edns ? { edns } : {}),
  };
}

/** Encodes an answer; over UDP, one that does not fit is sent without its records and with TC set. */
export function encodeReply(m: Message, udpLimit: number | null): Uint8Array {
  const bytes = encodeMessage(m);
  if (udpLimit === null || bytes.length <= udpLimit) return bytes;
  return encodeMessage({ ...m, header: { ...m.header, tc: true }, answers: [], authorities: [], additionals: [] });
}

/** A header-only answer to a packet whose body did not decode. */
function formatError(packet: Uint8Array): Uint8Array | null {
  const h = decodeHeader(packet);
  if (h === null) return null;
  return encodeMessage({
    header: { id: h.id, qr: true, opcode: h.opcode, aa: false, tc: false, rd: h.rd, ra: true, ad: false, cd: false, rcode: RCODE.FORMERR },
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  });
}

const BADVERS = 16;

/**
 * `client` is the source address of the query; `udp` says whether the answer goes back over UDP (size limits).
 * Mirrors aardvark-dns: A/AAAA and PTR for the client's networks with TTL 0, NXDOMAIN for unknown names under
 * the search domain or from clients on internal networks only, everything else forwarded.
 */
export function decide(zone: Zone, packet: Uint8Array, client: string, udp: boolean): Decision {
  let query: Message;
  try {
    query = decodeMessage(packet);
  } catch (err) {
    if (!(err instanceof DnsFormatError)) throw err;
    const bytes = decodeHeader(packet)?.qr === false ? formatError(packet) : null;
    return bytes ? { kind: "reply", bytes } : { kind: "drop" };
  }
  // A response sent to the server is never answered: two servers must not bounce errors between them.
  if (query.header.qr) return { kind: "drop" };
  const limit = udp ? udpLimitOf(query) : null;
  const reply = (rcode: number, answers?: ResourceRecord[], aa?: boolean): Decision => ({ kind: "reply", bytes: encodeReply(replyTo(query, rcode, answers, aa), limit) });

  if (query.header.opcode !== OPCODE_QUERY) return reply(RCODE.NOTIMP);
  if (query.questions.length !== 1) return reply(RCODE.FORMERR);
  if (query.edns && query.edns.version !== 0) return reply(BADVERS);
  const view = zone.client(client);
  if (view === null) return reply(RCODE.REFUSED);

  const q = query.questions[0]!;
  if (q.class === CLASS_IN) {
    if (q.type === TYPE.PTR) {
      const address = reverseAddress(q.name);
      const names = address === null ? undefined : zone.reverse(view, address);
      // the bare names, as aardvark-dns answers ("web.", not "web.dns.podman.": podman's e2e reads them so)
      if (names) return reply(RCODE.NOERROR, names.map((n) => ({ name: q.name, type: TYPE.PTR, class: CLASS_IN, ttl: 0, data: { kind: "name" as const, name: n } })), true);
    }
    const { name, inDomain } = Zone.localName(q.name);
    const found = zone.lookup(view, name);
    if (found) {
      // TTL 0, as aardvark-dns: a container can come back with another address at any time.
      const answers: ResourceRecord[] =
        q.type === TYPE.A
          ? found.ipv4.map((address) => ({ name: q.name, type: TYPE.A, class: CLASS_IN, ttl: 0, data: { kind: "A" as const, address } }))
          : q.type === TYPE.AAAA
            ? found.ipv6.map((address) => ({ name: q.name, type: TYPE.AAAA, class: CLASS_IN, ttl: 0, data: { kind: "AAAA" as const, address } }))
            : [];
      return reply(RCODE.NOERROR, answers, true);
    }
    if (inDomain) return reply(RCODE.NXDOMAIN, [], true);
  }
  if (view.internal) return reply(RCODE.NXDOMAIN);
  return { kind: "forward", query, udpLimit: limit ?? udpLimitOf(query), ...(view.upstreams ? { upstreams: view.upstreams } : {}) };
}

/** SERVFAIL for a forwarded query no upstream answered. */
export function serverFailure(query: Message, udp: boolean): Uint8Array {
  return encodeReply(replyTo(query, RCODE.SERVFAIL), udp ? udpLimitOf(query) : null);
}

/** An upstream's answer too large for the client's UDP limit: the header and question with TC, so it asks over TCP. */
export function truncatedFor(query: Message): Uint8Array {
  const m = replyTo(query, RCODE.NOERROR);
  return encodeMessage({ ...m, header: { ...m.header, tc: true } });
}

/** Distinct (client, query) pairs whose answers are remembered per configuration; beyond it, the memo starts over. */
const MEMO_LIMIT = 8192;

/**
 * `decide` with its local answers remembered. An answer depends only on the configuration (one Resolver per
 * configuration), the client's address, the transport and the query's bytes after its id; so a repeated query
 * (TTL 0 means containers repeat every lookup) costs a map lookup and a copy with the new id.
 */
export class Resolver {
  private readonly memo = new Map<string, Uint8Array>();

  constructor(readonly zone: Zone) {}

  decide(packet: Uint8Array, client: string, udp: boolean): Decision {
    if (packet.length < HEADER_SIZE) return { kind: "drop" };
    const key = `${udp ? "u" : "t"}${client}\0${Buffer.from(packet.buffer, packet.byteOffset + 2, packet.length - 2).toString("latin1")}`;
    const known = this.memo.get(key);
    if (known) {
      const bytes = Uint8Array.from(known);
      bytes[0] = packet[0]!;
      bytes[1] = packet[1]!;
      return { kind: "reply", bytes };
    }
    const d = decide(this.zone, packet, client, udp);
    if (d.kind === "reply") {
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(key, d.bytes);
    }
    return d;
  }
}
