// Host ports of created root containers, held by the supervisor as podman's conmon holds a container's:
// while a container whose ports are DNATed (bridge and CNI networks) lives, another program that tries to
// listen on one of them gets "address already in use" instead of a socket no connection reaches. `ctrnet
// run` holds its own (it lives as long as the container); `create` and the OCI hook return at once, so the
// supervisor of their user namespace (lifecycle/supervisor.ts) holds them: it listens on a unix socket
// beside its pid file, and `create` and `rm` ask it to sync (hold what the containers marked `holdsPorts`
// publish, let go of the rest) and wait for its answer, so the ports are held when create returns and free
// when rm returns. A supervisor started again (after kill -9, by the next create or reload) holds them all
// again at its start. A request names the container it is about (`sync ID`): the supervisor then looks at
// that one alone, so a create does not wait for a read of every container's ledger and record; its rounds
// sync them all. A bare `sync` (an older ctrnet) syncs all.
import { existsSync, rmSync } from "node:fs";
import { errorMessage } from "../errors.ts";
import { log } from "../log.ts";
import type { PortMapping } from "../schema/ports.ts";
import { type HelperPids, readHelperPids, supervisorFiles } from "../state/ledger.ts";
import type { Context } from "./context.ts";
import { holdHostPorts } from "./host-ports.ts";

/** A unix socket path must fit sockaddr_un's 108 bytes, with its NUL. */
const MAX_SOCKET_PATH = 107;
/** How long a command waits for a supervisor it has just started to listen. */
const CONNECT_WAIT_MS = 3000;
const ANSWER_WAIT_MS = 5000;

/** The ids of the containers whose ports the supervisor of this user namespace holds. */
function wanted(ctx: Context, supervised: readonly { id: string; ledger?: HelperPids }[]): Map<string, readonly PortMapping[]> {
  const out = new Map<string, readonly PortMapping[]>();
  if (ctx.rootless) return out;
  for (const { id, ledger } of supervised) {
    if (!(ledger ?? readHelperPids(ctx, id)).holdsPorts) continue;
    const rec = ctx.state().find(id);
    if (rec?.id === id && rec.state === "ready" && rec.ports.length) out.set(id, rec.ports);
  }
  return out;
}

export class PortHolder {
  private readonly held = new Map<string, () => void>();
  private server: { stop(closeActive?: boolean): void } | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly userns: number,
    /** With the ledgers when the caller read them already. */
    private readonly supervised: () => readonly { id: string; ledger?: HelperPids }[],
    /** After a request's sync: closes what it opened (the state database) unless the supervisor's round uses it. */
    private readonly afterRequest: () => void = () => {},
  ) {}

  /** Holds the ports of every container that wants them, lets go of the others; one message per failure. */
  sync(): string[] {
    const want = wanted(this.ctx, this.supervised());
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

  /** Syncs, then answers each `sync [ID]` line on the socket with the failures as a JSON array. */
  listen(): void {
    for (const err of this.sync()) log.warn(`holding host ports: ${err}`);
    const path = supervisorFiles(this.ctx, this.userns).socketFile;
    if (path.length > MAX_SOCKET_PATH) {
      log.warn(`holding host ports: the socket path ${path} is too long; commands will not wait for the supervisor`);
      return;
    }
    rmSync(path, { force: true });
    this.server = Bun.listen({
      unix: path,
      socket: {
        data: (socket, data) => {
          const text = data.toString();
          if (!text.includes("\n")) return;
          const id = /^sync (\S+)\n/.exec(text)?.[1];
          let errors: string[];
          try {
            errors = id === undefined ? this.sync() : this.syncOne(id);
          } catch (err) {
            errors = [errorMessage(err)];
          } finally {
            this.afterRequest();
          }
          socket.write(`${JSON.stringify(errors)}\n`);
          socket.end();
        },
      },
    });
  }

  /** Stops listening and lets go of every port; the socket file goes only when this supervisor still owns it. */
  close(removeSocket: boolean): void {
    this.server?.stop(true);
    this.server = undefined;
    if (removeSocket) rmSync(supervisorFiles(this.ctx, this.userns).socketFile, { force: true });
    for (const release of this.held.values()) release();
    this.held.clear();
  }
}

/**
 * Asks the supervisor of this user namespace to sync its held ports and waits for its answer: the
 * failures it reports, or why it could not be asked.
 */
export async function syncHeldPorts(ctx: Context, userns: number, id?: string): Promise<string[]> {
  const path = supervisorFiles(ctx, userns).socketFile;
  if (path.length > MAX_SOCKET_PATH) return [`the supervisor's socket path ${path} is too long`];
  const deadline = Date.now() + CONNECT_WAIT_MS;
  for (;;) {
    try {
      return await ask(path, id === undefined ? "sync\n" : `sync ${id}\n`);
    } catch (err) {
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
