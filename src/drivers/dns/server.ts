// The listening side: UDP and TCP port 53 on every gateway address of the configuration. `apply` swaps in a new
// configuration while running: listeners for addresses that stay are kept open (their queries in flight
// finish), those for addresses that went are closed, new ones opened.
import type { Socket, TCPSocketListener, udp } from "bun";
import { errorMessage } from "../../errors.ts";
import type { DnsConfig, DnsMember, DnsUpstream } from "../../schema/dns.ts";
import { Forwarder } from "./forward.ts";
import { type Decision, Resolver, serverFailure, truncatedFor } from "./resolver.ts";
import { hostUpstreams } from "./upstreams.ts";
import { Zone } from "./zone.ts";

/** A client that opens a TCP connection and says nothing is cut off after this long, as aardvark-dns does. */
const TCP_IDLE_SECONDS = 3;
const MAX_TCP_BUFFER = 2 + 65535;

interface Listener {
  udp: udp.Socket<"buffer">;
  tcp: TCPSocketListener<TcpState>;
}

interface TcpState {
  buffered: Buffer;
  unsent: Buffer[];
  closed: boolean;
}

export interface Applied {
  listening: string[];
  errors: string[];
  upstreams: string[];
  /** How many containers it serves. */
  members: number;
}

export const endpointText = (address: string, port: number): string => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

export class DnsServer {
  private zone = new Zone({ generation: 0, networks: [], port: 53 });
  private resolver = new Resolver(this.zone);
  private readonly listeners = new Map<string, Listener>();
  private readonly forwarder = new Forwarder([]);
  /** Gateways it could not listen on yet (an IPv6 address still tentative under DAD, a port taken). */
  private pending = new Map<string, string>();
  private port = 53;
  private upstreamList: string[] = [];

  /** Serves this configuration and these members from now on, and nothing else. */
  async apply(config: DnsConfig, members: Iterable<[string, DnsMember]> = []): Promise<Applied> {
    this.zone = new Zone(config, members);
    return this.refresh(config);
  }

  /**
   * The same configuration as the last one applied (its networks, upstreams and port), with these members
   * changed (undefined: gone): costs what they are, not what the others are.
   */
  async update(config: DnsConfig, changes: Iterable<[string, DnsMember | undefined]>): Promise<Applied> {
    for (const [key, member] of changes) this.zone.setMember(key, member);
    return this.refresh(config);
  }

  private async refresh(config: DnsConfig): Promise<Applied> {
    const gateways = this.zone.gateways();
    const upstreams: DnsUpstream[] = config.upstreams ?? hostUpstreams(gateways);
    this.forwarder.setUpstreams(upstreams);
    // a new resolver: the answers the old one remembered were the old zone's
    this.resolver = new Resolver(this.zone);
    const wanted = new Map(gateways.map((g) => [endpointText(g, config.port), g]));
    for (const [key, l] of this.listeners) {
      if (wanted.has(key)) continue;
      l.udp.close();
      l.tcp.stop(true);
      this.listeners.delete(key);
    }
    this.pending = new Map([...wanted].filter(([key]) => !this.listeners.has(key)));
    this.port = config.port;
    this.upstreamList = upstreams.map((u) => endpointText(u.address, u.port));
    return this.listenPending();
  }

  /** Tries the gateways it is not listening on yet again; what it serves now. */
  async listenPending(): Promise<Applied> {
    const errors: string[] = [];
    for (const [key, address] of this.pending) {
      try {
        this.listeners.set(key, await this.listen(address, this.port));
        this.pending.delete(key);
      } catch (err) {
        errors.push(`cannot listen on ${key}: ${errorMessage(err)}`);
      }
    }
    return { listening: [...this.listeners.keys()], errors, upstreams: this.upstreamList, members: this.zone.size };
  }

  get waiting(): boolean {
    return this.pending.size > 0;
  }

  stop(): void {
    for (const l of this.listeners.values()) {
      l.udp.close();
      l.tcp.stop(true);
    }
    this.listeners.clear();
    this.forwarder.close();
  }

  private async listen(address: string, port: number): Promise<Listener> {
    const tcp = Bun.listen<TcpState>({
      hostname: address,
      port,
      socket: {
        open: (s) => {
          s.data = { buffered: Buffer.alloc(0), unsent: [], closed: false };
          s.timeout(TCP_IDLE_SECONDS);
        },
        data: (s, chunk) => this.tcpData(s, chunk),
        drain: (s) => flush(s),
        close: (s) => void (s.data.closed = true),
        timeout: (s) => void s.end(),
        error: (s) => void s.end(),
      },
    });
    try {
      const udpSocket = await Bun.udpSocket({
        hostname: address,
        port,
        // A client gone before its answer comes back as an ICMP error here: nothing to do about it.
        socket: { data: (s, data, fromPort, from) => this.udpQuery(s, data, fromPort, from), error: () => {} },
      });
      return { udp: udpSocket, tcp };
    } catch (err) {
      tcp.stop(true);
      throw err;
    }
  }

  private udpQuery(socket: udp.Socket<"buffer">, data: Buffer, port: number, address: string): void {
    const d = decideSafely(this.resolver, data, address, true);
    if (d.kind === "reply") {
      socket.send(d.bytes, port, address);
      return;
    }
    if (d.kind === "drop") return;
    // A copy: the forward outlives this callback, and the receive buffer is not promised to.
    void this.forwarder.forward(Uint8Array.from(data), false, d.upstreams).then((answer) => {
      if (socket.closed) return;
      const bytes = answer === null ? serverFailure(d.query, true) : answer.length > d.udpLimit ? truncatedFor(d.query) : answer;
      socket.send(bytes, port, address);
    });
  }

  private tcpData(s: Socket<TcpState>, chunk: Buffer): void {
    let buf = s.data.buffered.length === 0 ? chunk : Buffer.concat([s.data.buffered, chunk]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const length = buf.readUInt16BE(0);
      this.tcpQuery(s, Uint8Array.from(buf.subarray(2, 2 + length)));
      buf = buf.subarray(2 + length);
    }
    if (buf.length > MAX_TCP_BUFFER) {
      s.end();
      return;
    }
    s.data.buffered = Buffer.from(buf);
  }

  private tcpQuery(s: Socket<TcpState>, packet: Uint8Array): void {
    const d = decideSafely(this.resolver, packet, s.remoteAddress, false);
    if (d.kind === "reply") send(s, d.bytes);
    else if (d.kind === "forward") {
      void this.forwarder.forward(packet, true, d.upstreams).then((answer) => {
        if (!s.data.closed) send(s, answer ?? serverFailure(d.query, false));
      });
    } else s.end();
  }
}

/** A query the codec did not foresee costs that query, never the server and every other client's answers. */
function decideSafely(resolver: Resolver, packet: Uint8Array, client: string, udp: boolean): Decision {
  try {
    return resolver.decide(packet, client, udp);
  } catch {
    return { kind: "drop" };
  }
}

function send(s: Socket<TcpState>, message: Uint8Array): void {
  const framed = Buffer.alloc(2 + message.length);
  framed.writeUInt16BE(message.length, 0);
  framed.set(message, 2);
  s.data.unsent.push(framed);
  flush(s);
}

function flush(s: Socket<TcpState>): void {
  while (s.data.unsent.length > 0) {
    const next = s.data.unsent[0]!;
    const written = s.write(next);
    if (written < next.length) {
      s.data.unsent[0] = next.subarray(Math.max(0, written));
      return;
    }
    s.data.unsent.shift();
  }
}
