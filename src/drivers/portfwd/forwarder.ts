// The forwarder process (`ctrnet _rootlessport`): binds every listener in the netns it was started in, relays
// to the container inside netnsPath, says so on the ready fd, and lives until the exit fd reaches EOF.
import * as libc from "../../../ffi/libc.ts";
import { Relay } from "../../../ffi/relay.ts";
import { errorMessage, UsageError } from "../../errors.ts";
import { openNetns } from "../../netns/index.ts";
import { parseConfig } from "./config.ts";
import { bindListeners, listenersOf } from "./listeners.ts";
import { FORWARDER_MARK, type ReturnPath, setUpReturnPath } from "./return-path.ts";

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
 * Without the rules in the netns (a kernel without nf_tables conntrack, say) ports still work, as before:
 * the server then sees the netns's own address for every client.
 */
function keepClientAddress(relay: Relay, netnsPath: string, loopbackAs6: string | undefined, io: ForwarderIo): void {
  let path: ReturnPath;
  try {
    path = setUpReturnPath(netnsPath);
  } catch (err) {
    io.debug(`client addresses are not kept: ${errorMessage(err)}`);
    return;
  }
  const gateway6 = loopbackAs6 ?? path.gateway6;
  relay.keepSource(FORWARDER_MARK, path.gateway4, gateway6);
  io.debug(`client addresses kept; loopback clients appear as ${path.gateway4 || "-"} and ${gateway6 || "-"}`);
}

/** Resolves when the parent closed the exit fd (or died); throws with a user-facing message before ready. */
export async function runForwarder(io: ForwarderIo): Promise<void> {
  requireFd(EXIT_FD, "exit fd");
  requireFd(READY_FD, "ready fd");
  const config = parseConfig(io.config);
  // Kept open for the life of the process: the relay's thread enters it when it starts.
  const relay = Relay.create(openNetns(config.netnsPath), UDP_IDLE_SECONDS);
  const listeners = listenersOf(config);
  bindListeners(relay, listeners);
  if (config.keepClientAddress) keepClientAddress(relay, config.netnsPath, config.loopbackAs6, io);
  relay.start();
  io.debug(`forwarding ${listeners.length} port(s) to ${config.childIP} in ${config.netnsPath}`);
  libc.write(READY_FD, new TextEncoder().encode("1"));
  libc.close(READY_FD);
  await untilEof(EXIT_FD);
  io.debug("exit fd closed, stopping");
}
