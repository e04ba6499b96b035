// Host ports of created root containers, held by the supervisor as podman's conmon holds a container's:
// while a container whose ports are DNATed (bridge and CNI networks) lives, another program that tries to
// listen on one of them gets "address already in use" instead of a socket no connection reaches. `ctrnet
// run` holds its own (it lives as long as the container); `create` and the OCI hook return at once, so the
// supervisor of their user namespace (lifecycle/supervisor.ts) holds them: it listens on a unix socket
// beside its pid file; `create` binds the ports itself and hands the sockets over (`hold ID`, SCM_RIGHTS),
// held from the moment they are sent, so it has no answer to wait for; `rm` (and reload) ask it to sync
// (hold what the containers marked `holdsPorts` publish, let go of the rest) and wait for its answer, so
// the ports are held when create returns and free when rm returns. A command that finds no supervisor
// running binds the ports itself and hands the sockets to the supervisor it starts (inherited fds), so it
// need not wait for that one to listen. The socket is a plain non-blocking one in the supervisor's poll
// set: a request wakes it, nothing else does. A request names the container it is about (`sync ID`): the
// supervisor then looks at that one alone, so an rm does not wait for a read of every container's ledger
// and record; its rounds sync them all. A bare
// `sync` (an older ctrnet) syncs all. A supervisor started again (after kill -9, by its watchdog or the
// next create or reload) holds them all again at its start.
import { existsSync, rmSync } from "../../ffi/fs.ts";
import * as libc from "../../ffi/libc.ts";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { PortMapping } from "../schema/ports.ts";
import { type HelperPids, readHelperPids, supervisorFiles } from "../state/ledger.ts";
import type { Context } from "./context.ts";
import { bindHostPorts, holdHostPorts, releaseOf } from "./host-ports.ts";

/** A unix socket path must fit sockaddr_un's 108 bytes, with its NUL. */
const MAX_SOCKET_PATH = 107;
/** How long a command waits for a supervisor it has just started to listen. */
const CONNECT_WAIT_MS = 3000;
const ANSWER_WAIT_MS = 5000;

/** The ids of the containers whose ports the supervisor of this user namespace holds, with those ports. */
export function wantedPorts(ctx: Context, supervised: readonly { id: string; ledger?: HelperPids }[]): Map<string, readonly PortMapping[]> {
  const out = new Map<string, readonly PortMapping[]>();
  if (ctx.rootless) return out;
  for (const { id, ledger } of supervised) {
    if (!(ledger ?? readHelperPids(ctx, id)).holdsPorts) continue;
    const rec = ctx.state().find(id);
    if (rec?.id === id && rec.state === "ready" && rec.ports.length) out.set(id, rec.ports);
  }
  return out;
}

/** The listening sockets of a container's host ports, bound by one process and passed to another. */
export interface HandedPorts {
  id: string;
  fds: readonly number[];
}

/** How the supervisor's argv names the sockets it inherits as fds 3, 4, … in this order: `ID:COUNT,…`. */
export function handedPortsArg(handed: readonly HandedPorts[]): string {
  return handed.map((h) => `${h.id}:${h.fds.length}`).join(",");
}

export function parseHandedPorts(arg: string): HandedPorts[] {
  let next = 3;
  return arg.split(",").map((item) => {
    const colon = item.lastIndexOf(":");
    const count = Number(item.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(count) || count < 0) throw new Error(`bad handed ports "${arg}": use ID:COUNT,…`);
    const fds = Array.from({ length: count }, (_, i) => next + i);
    next += count;
    return { id: item.slice(0, colon), fds };
  });
}

/** The most sockets one `hold` request hands over (SCM_RIGHTS takes up to 253); a longer port range is synced instead. */
const MAX_HANDED_FDS = 64;

/** How long the supervisor waits for the request line of a command that has connected (it writes it at once). */
const REQUEST_WAIT_MS = 1000;

export class PortHolder {
  private readonly held = new Map<string, () => void>();
  /** The listening socket, non-blocking: in the supervisor's poll set, so that a request wakes it. */
  private listener: number | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly userns: number,
    /** With the ledgers when the caller read them already. */
    private readonly supervised: () => readonly { id: string; ledger?: HelperPids }[],
  ) {}

  /** Sockets the command that started this supervisor bound for the container and handed over. */
  adopt(handed: HandedPorts): void {
    // not passed on to the helpers this supervisor starts
    for (const fd of handed.fds) libc.setInheritable(fd, false);
    this.held.get(handed.id)?.();
    this.held.set(handed.id, releaseOf(handed.fds));
  }

  /** Holds the ports of every container that wants them, lets go of the others; one message per failure. */
  sync(): string[] {
    const want = wantedPorts(this.ctx, this.supervised());
    for (const [id, release] of this.held) {
      if (want.has(id)) continue;
      release();
      this.held.delete(id);
    }
    const errors: string[] = [];
    for (const [id, ports] of want) {
      if (this.held.has(id)) continue;
      try {
        this.held.set(id, holdHostPorts(ports));
      } catch (err) {
        errors.push(`container ${id}: ${errorMessage(err)}`);
      }
    }
    return errors;
  }

  /** sync() for one container: what it wants held (nothing once it is gone) is held, and only that. */
  syncOne(id: string): string[] {
    const ledger = readHelperPids(this.ctx, id);
    const rec = !this.ctx.rootless && ledger.supervisedIn === this.userns && ledger.holdsPorts ? this.ctx.state().find(id) : undefined;
    const ports = rec?.id === id && rec.state === "ready" && rec.ports.length ? rec.ports : undefined;
    const release = this.held.get(id);
    if (ports === undefined) {
      if (release) {
        release();
        this.held.delete(id);
      }
      return [];
    }
    if (release) return [];
    try {
      this.held.set(id, holdHostPorts(ports));
      return [];
    } catch (err) {
      return [`container ${id}: ${errorMessage(err)}`];
    }
  }

  /** Syncs, then listens for requests on the socket; its descriptor, for the caller's poll set. */
  listen(): number | undefined {
    for (const err of this.sync()) log.warn(`holding host ports: ${err}`);
    const path = supervisorFiles(this.ctx, this.userns).socketFile;
    if (path.length > MAX_SOCKET_PATH) {
      log.warn(`holding host ports: the socket path ${path} is too long; commands will not wait for the supervisor`);
      return undefined;
    }
    rmSync(path, { force: true });
    const fd = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM | libc.SOCK_NONBLOCK, 0);
    try {
      libc.bind(fd, libc.unixAddress(path));
      libc.listen(fd, 64);
    } catch (err) {
      libc.close(fd);
      throw err;
    }
    this.listener = fd;
    return fd;
  }

  /**
   * Answers every request waiting on the socket: each `sync [ID]` line with the failures as a JSON array.
   * Returns the containers asked about, or "all" when a request was for every one.
   */
  serve(): Set<string> | "all" {
    const served = new Set<string>();
    let all = false;
    if (this.listener === undefined) return served;
    for (;;) {
      const conn = libc.acceptNonBlocking(this.listener);
      if (conn === undefined) return all ? "all" : served;
      try {
        const { line: request, fds } = readRequest(conn);
        const held = /^hold (\S+)$/.exec(request ?? "")?.[1];
        if (held !== undefined) {
          // a create's sockets, held from the moment it sent them: it waits for no answer
          this.adopt({ id: held, fds });
          continue;
        }
        releaseOf(fds)();
        if (request === undefined) continue;
        const id = /^sync (\S+)$/.exec(request)?.[1];
        if (id === undefined) all = true;
        else served.add(id);
        let errors: string[];
        try {
          errors = id === undefined ? this.sync() : this.syncOne(id);
        } catch (err) {
          errors = [errorMessage(err)];
        }
        libc.write(conn, Buffer.from(`${JSON.stringify(errors)}\n`));
      } catch (err) {
        log.debug(`holding host ports: a request: ${errorMessage(err)}`);
      } finally {
        libc.close(conn);
      }
    }
  }

  /** Stops listening and lets go of every port; the socket file goes only when this supervisor still owns it. */
  close(removeSocket: boolean): void {
    if (this.listener !== undefined) libc.close(this.listener);
    this.listener = undefined;
    if (removeSocket) rmSync(supervisorFiles(this.ctx, this.userns).socketFile, { force: true });
    for (const release of this.held.values()) release();
    this.held.clear();
  }
}

/**
 * Reads up to the request's newline, waiting for it at most REQUEST_WAIT_MS: its line (undefined when none
 * came), and the descriptors sent with it.
 */
function readRequest(conn: number): { line: string | undefined; fds: number[] } {
  let text = "";
  const fds: number[] = [];
  const deadline = Date.now() + REQUEST_WAIT_MS;
  while (!text.includes("\n")) {
    const left = deadline - Date.now();
    if (left <= 0 || libc.pollReadable([conn], left).length === 0) return { line: undefined, fds };
    const got = libc.receiveWithFds(conn, 64, MAX_HANDED_FDS);
    fds.push(...got.fds);
    if (got.data.byteLength === 0) return { line: undefined, fds };
    text += Buffer.from(got.data).toString("utf8");
  }
  return { line: text.slice(0, text.indexOf("\n")), fds };
}

/**
 * create: the container's host ports bound here and handed to the supervisor of this user namespace with a
 * `hold ID` request. They are held from the moment it is sent (in flight, then the supervisor's), so unlike
 * a `sync ID`, whose supervisor binds them while the command waits, there is no answer to wait for. A
 * supervisor that does not listen yet (just started again) is asked to sync instead. The failures, as
 * syncHeldPorts gives them.
 */
export async function handHeldPorts(ctx: Context, userns: number, id: string, ports: readonly PortMapping[], retired?: () => boolean): Promise<string[]> {
  const path = supervisorFiles(ctx, userns).socketFile;
  if (path.length > MAX_SOCKET_PATH) return [`the supervisor's socket path ${path} is too long`];
  let fds: number[];
  try {
    fds = bindHostPorts(ports);
  } catch (err) {
    return [`container ${id}: ${errorMessage(err)}`];
  }
  let sent = false;
  try {
    if (fds.length <= MAX_HANDED_FDS) sent = sendHold(path, id, fds);
  } catch {
    // not listening (yet): asked to sync below
  } finally {
    releaseOf(fds)();
  }
  return sent ? [] : syncHeldPorts(ctx, userns, id, retired);
}

/** Whether the whole request went, with the sockets: a fresh connection's first message goes whole or not at all. */
function sendHold(path: string, id: string, fds: readonly number[]): boolean {
  const sock = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM | libc.SOCK_NONBLOCK, 0);
  try {
    libc.connect(sock, libc.unixAddress(path));
    const request = Buffer.from(`hold ${id}\n`);
    return libc.sendWithFds(sock, request, fds, libc.MSG_NOSIGNAL) === request.byteLength;
  } finally {
    libc.close(sock);
  }
}

/**
 * Asks the supervisor of this user namespace to sync its held ports and waits for its answer: the
 * failures it reports, or why it could not be asked. `retired` tells a supervisor that went away meanwhile
 * (its ports go with it) from one not listening yet: the first is not asked again.
 */
export async function syncHeldPorts(ctx: Context, userns: number, id?: string, retired?: () => boolean): Promise<string[]> {
  const path = supervisorFiles(ctx, userns).socketFile;
  if (path.length > MAX_SOCKET_PATH) return [`the supervisor's socket path ${path} is too long`];
  const deadline = Date.now() + CONNECT_WAIT_MS;
  for (;;) {
    try {
      return await ask(path, id === undefined ? "sync\n" : `sync ${id}\n`);
    } catch (err) {
      if (retired?.()) return [];
      // a supervisor just started is not listening yet
      if (Date.now() > deadline) return [`the helper supervisor did not answer: ${errorMessage(err)}`];
      await Bun.sleep(existsSync(path) ? 5 : 10);
    }
  }
}

function ask(path: string, request: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_WAIT_MS} ms`)), ANSWER_WAIT_MS);
    Bun.connect({
      unix: path,
      socket: {
        open: (socket) => {
          socket.write(request);
        },
        data: (_socket, data) => {
          answer += data.toString();
        },
        close: () => {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(answer) as string[]);
          } catch {
            reject(new Error(`a bad answer: ${JSON.stringify(answer)}`));
          }
        },
        error: (_socket, err) => {
          clearTimeout(timer);
          reject(err);
        },
        connectError: (_socket, err) => {
          clearTimeout(timer);
          reject(err);
        },
      },
    }).catch((err: unknown) => {
      clearTimeout(timer);
      reject(err instanceof Error ? err : new Error(String(err)));
    });
  });
}
