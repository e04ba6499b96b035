// The port forwarder engine (relay.c): listeners in this thread's netns, connections made from a C thread that
// entered the target netns, bytes moved by splice. Compiled on first use, in a few milliseconds.
import type { Pointer } from "bun:ffi";
import { embedC } from "./compile.ts";
import { SysError } from "./errno.ts";
import source from "./relay.c" with { type: "text" };

export type RelayProtocol = "tcp" | "udp";

export interface RelayEndpoint {
  ip: string;
  port: number;
}

const PROTOCOL: Record<RelayProtocol, number> = { tcp: 0, udp: 1 };
const ENOMEM = 12;

const relay = embedC("relay.c", source, {
  relay_new: { args: ["i32", "i32"], returns: "ptr" },
  relay_add: { args: ["ptr", "i32", "ptr", "i32", "ptr", "i32", "u32"], returns: "i32" },
  relay_start: { args: ["ptr"], returns: "i32" },
  relay_keep_source: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
});

function cstr(s: string): Buffer {
  return Buffer.from(`${s}\0`, "utf8");
}

export function formatEndpoint({ ip, port }: RelayEndpoint): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** One relay per process: it keeps running until the process exits. */
export class Relay {
  private constructor(private readonly handle: Pointer) {}

  /** netnsFd must stay open: the event thread enters it when the relay starts. */
  static create(netnsFd: number, udpIdleSeconds: number): Relay {
    const handle = relay().relay_new(netnsFd, udpIdleSeconds) as Pointer | null;
    if (handle === null) throw new SysError("relay_new", ENOMEM);
    return new Relay(handle);
  }

  /**
   * Binds host in this thread's netns (throws SysError "listen" naming it); target is reached from the relay's
   * netns. mark: the SO_MARK of the sockets to target once the client's address is kept (keepSource).
   */
  listen(protocol: RelayProtocol, host: RelayEndpoint, target: RelayEndpoint, mark = 0): void {
    const ret = relay().relay_add(this.handle, PROTOCOL[protocol], cstr(host.ip), host.port, cstr(target.ip), target.port, mark);
    if (ret < 0) throw new SysError("listen", -ret, `${formatEndpoint(host)}/${protocol}`);
  }

  /**
   * From now on connections to a target come from the client's address (transparent sockets carrying their
   * listener's mark), a loopback client's from the gateway of its family ("" for none: such a client connects
   * as before). Call before start(); the netns needs the rules that bring replies back to marked sockets.
   */
  keepSource(gateway4: string, gateway6: string): void {
    const ret = relay().relay_keep_source(this.handle, cstr(gateway4), cstr(gateway6));
    if (ret < 0) throw new SysError("relay_keep_source", -ret, `gateways "${gateway4}" and "${gateway6}"`);
  }

  /** Returns once the event thread is inside the target netns and serving every listener. */
  start(): void {
    const ret = relay().relay_start(this.handle);
    if (ret < 0) throw new SysError("setns", -ret, "relay thread into the target netns");
  }
}
