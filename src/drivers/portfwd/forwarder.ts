// The forwarder process (`ctrnet _rootlessport`): binds every listener in the netns it was started in, relays
// to the container inside netnsPath, says so on the ready fd, and lives until the exit fd reaches EOF.
import * as libc from "../../../ffi/libc.ts";
import { Relay } from "../../../ffi/relay.ts";
import { errorMessage, UsageError } from "../../errors.ts";
import { openNetns } from "../../netns/index.ts";
import { parseConfig } from "./config.ts";
import { bindListeners, type Listener, listenersOf } from "./listeners.ts";
import { REPLY_MARK, type ReturnPath, setUpReturnPath } from "./return-path.ts";

export const EXIT_FD = 3;
export const READY_FD = 4;
/** Like docker's and rootlesskit's UDP proxies: a client silent this long has gone. */
const UDP_IDLE_SECONDS = 90;

export interface ForwarderIo {
  config: string;
  /** Debug log; the one-line error for the user is the caller's to print. */
  debug: (message: string) => void;
}

function requireFd(fd: number, what: string): void {
  try {
    libc.fcntl(fd, libc.F_GETFD);
  } catch {
    throw new UsageError(`fd ${fd} (${what}) is not open: _rootlessport is started by ctrnet, not by hand`);
  }
}

async function untilEof(fd: number): Promise<void> {
  const reader = Bun.file(fd).stream().getReader();
  while (!(await reader.read()).done) {
    // bytes on the exit fd mean nothing; only its end does
  }
}

/**
 * The return path for the listeners' targets, or undefined without it (a kernel without nf_tables conntrack,
 * say): ports still work then, as before, and the server sees the netns's own address for every client.
 */
function returnPath(netnsPath: string, listeners: readonly Listener[], io: ForwarderIo): ReturnPath | undefined {
  try {
    return setUpReturnPath(netnsPath, listeners.map((l) => ({ protocol: l.protocol, ip: l.target.ip })));
  } catch (err) {
    io.debug(`client addresses are not kept: ${errorMessage(err)}`);
    return undefined;
  }
}

/** Resolves when the parent closed the exit fd (or died); throws with a user-facing message before ready. */
export async function runForwarder(io: ForwarderIo): Promise<void> {
  requireFd(EXIT_FD, "exit fd");
  requireFd(READY_FD, "ready fd");
  const config = parseConfig(io.config);
  // Kept open for the life of the process: the relay's thread enters it when it starts.
  const relay = Relay.create(openNetns(config.netnsPath), UDP_IDLE_SECONDS);
  const listeners = listenersOf(config);
  const path = config.keepClientAddress ? returnPath(config.netnsPath, listeners, io) : undefined;
  bindListeners(relay, listeners, path?.marks);
  if (path) {
    // A loopback client cannot keep its address. Behind a bridge (the rootless netns) it connects as before,
    // from the netns's address on the container's bridge, the network's gateway, which is what the server
    // sees with podman's rootlessport (bats "podman network create": from 172.x); in the container's own
    // netns (slirp4netns, pasta) it appears as that netns's gateway.
    const gateway4 = path.behindBridge ? "" : path.gateway4;
    const gateway6 = path.behindBridge ? "" : (config.loopbackAs6 ?? path.gateway6);
    relay.keepSource(gateway4, gateway6);
    const direct = path.marks.filter((m) => m === REPLY_MARK).length;
    io.debug(
      `client addresses kept (${direct} of ${listeners.length} port(s) without conntrack); ` +
        `loopback clients appear as ${gateway4 || "-"} and ${gateway6 || "-"}`,
    );
  }
  relay.start();
  io.debug(`forwarding ${listeners.length} port(s) to ${config.childIP} in ${config.netnsPath}`);
  libc.write(READY_FD, new TextEncoder().encode("1"));
  libc.close(READY_FD);
  await untilEof(EXIT_FD);
  io.debug("exit fd closed, stopping");
}
