// Queries for names that are not containers' go to the upstream resolvers: over UDP from one socket per
// address family (each query gets a fresh id, mapped back on the answer), over TCP when the client used TCP or
// an upstream's UDP answer came back truncated. Each upstream gets its share of a fixed time budget, so a dead
// upstream costs a bounded wait and then SERVFAIL, never a hang.
import type { udp } from "bun";
import type { DnsUpstream } from "../../schema/dns.ts";
import { HEADER_SIZE } from "./wire.ts";

/** The whole wait for one forwarded query, split between the upstreams in order. */
export const FORWARD_BUDGET_MS = 2500;

interface Pending {
  upstream: DnsUpstream;
  resolve: (answer: Uint8Array | null) => void;
  timer: Timer;
}

const isTruncated = (answer: Uint8Array): boolean => (answer[2]! & 0x02) !== 0;

function withId(packet: Uint8Array, id: number): Uint8Array {
  const out = Uint8Array.from(packet);
  out[0] = id >> 8;
  out[1] = id & 0xff;
  return out;
}

/** A DNS message over TCP: a 2-octet length in front; one answer read back, then the connection is closed. */
export function queryOverTcp(upstream: DnsUpstream, packet: Uint8Array, timeoutMs: number): Promise<Uint8Array | null> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (answer: Uint8Array | null, socket?: { end(): void }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket?.end();
      resolve(answer);
    };
    const timer = setTimeout(() => {
      finish(null);
      connection.then((s) => s.end()).catch(() => {});
    }, timeoutMs);
    const framed = new Uint8Array(packet.length + 2);
    framed[0] = packet.length >> 8;
    framed[1] = packet.length & 0xff;
    framed.set(packet, 2);
    const connection = Bun.connect({
      hostname: upstream.address,
      port: upstream.port,
      socket: {
        open: (s) => void s.write(framed),
        data: (s, chunk) => {
          got = Buffer.concat([got, chunk]);
          if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) finish(got.subarray(2, 2 + got.readUInt16BE(0)), s);
        },
        close: () => finish(null),
        error: () => finish(null),
        connectError: () => finish(null),
      },
    });
    connection.catch(() => finish(null));
  });
}

export class Forwarder {
  private readonly pending = new Map<number, Pending>();
  private sockets: Partial<Record<4 | 6, udp.Socket<"buffer">>> = {};
  private opening: Partial<Record<4 | 6, Promise<udp.Socket<"buffer">>>> = {};

  constructor(private upstreams: DnsUpstream[]) {}

  setUpstreams(upstreams: DnsUpstream[]): void {
    this.upstreams = upstreams;
  }

  /**
   * The first upstream answer to `packet` (whatever its rcode: NXDOMAIN and SERVFAIL pass through), with the
   * client's id; null when none answered in time. `tcp`: ask over TCP from the start. `upstreams`: the
   * client's networks' own servers, when they have some.
   */
  async forward(packet: Uint8Array, tcp: boolean, upstreams: readonly DnsUpstream[] = this.upstreams): Promise<Uint8Array | null> {
    if (packet.length < HEADER_SIZE || upstreams.length === 0) return null;
    const clientId = (packet[0]! << 8) | packet[1]!;
    const share = FORWARD_BUDGET_MS / upstreams.length;
    for (const upstream of upstreams) {
      const started = performance.now();
      let answer = tcp ? await queryOverTcp(upstream, packet, share) : await this.overUdp(upstream, packet, share);
      if (answer && !tcp && isTruncated(answer)) {
        // Keep the truncated answer if TCP fails: the client can still retry over TCP itself.
        answer = (await queryOverTcp(upstream, packet, Math.max(1, share - (performance.now() - started)))) ?? answer;
      }
      if (answer && answer.length >= HEADER_SIZE) return withId(answer, clientId);
    }
    return null;
  }

  private socket(family: 4 | 6): Promise<udp.Socket<"buffer">> {
    const open = this.sockets[family];
    if (open && !open.closed) return Promise.resolve(open);
    this.opening[family] ??= Bun.udpSocket({
      hostname: family === 4 ? "0.0.0.0" : "::",
      // ICMP errors (host or port unreachable) arrive here; the query's timeout moves on to the next upstream.
      socket: { data: (_s, data, port, address) => this.answered(data, port, address), error: () => {} },
    }).then((s) => {
      this.sockets[family] = s;
      delete this.opening[family];
      return s;
    });
    return this.opening[family]!;
  }

  private freeId(): number {
    for (;;) {
      const id = Math.floor(Math.random() * 0x10000);
      if (!this.pending.has(id)) return id;
    }
  }

  private async overUdp(upstream: DnsUpstream, packet: Uint8Array, timeoutMs: number): Promise<Uint8Array | null> {
    let socket: udp.Socket<"buffer">;
    try {
      socket = await this.socket(upstream.address.includes(":") ? 6 : 4);
    } catch {
      return null;
    }
    const id = this.freeId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.pending.set(id, { upstream, resolve, timer });
      if (!socket.send(withId(packet, id), upstream.port, upstream.address)) {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(null);
      }
    });
  }

  private answered(data: Buffer, port: number, address: string): void {
    if (data.length < HEADER_SIZE) return;
    const id = data.readUInt16BE(0);
    const p = this.pending.get(id);
    // Only the upstream that was asked may answer: anything else is stale or spoofed.
    if (!p || p.upstream.port !== port || !sameAddress(p.upstream.address, address)) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(new Uint8Array(data));
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.pending.clear();
    for (const s of Object.values(this.sockets)) s?.close();
    this.sockets = {};
  }
}

function sameAddress(configured: string, seen: string): boolean {
  return configured === seen || seen === `::ffff:${configured}`;
}
