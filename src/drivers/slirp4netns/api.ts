// slirp4netns's API socket (port_handler=slirp4netns): port forwards added, listed and removed on a
// running slirp4netns. One connection per request, as slirp4netns reads a request until the client
// shuts down its write side, answers, and closes.
import * as v from "valibot";
import { CtrnetError } from "../../errors.ts";
import { describeIssues } from "../../schema/issues.ts";
import { AddHostFwdReply, ApiErrorReply, ListHostFwdReply, RemoveHostFwdReply } from "../../schema/slirp4netns-api.ts";

export interface HostFwd {
  proto: "tcp" | "udp";
  /** Default 0.0.0.0, as podman sends for an empty host IP. */
  hostIP?: string;
  hostPort: number;
  /** Default: slirp4netns's guest address, network + 100. */
  guestIP?: string;
  guestPort: number;
}

export interface HostFwdRule extends Required<HostFwd> {
  id: number;
}

const DEFAULT_TIMEOUT_MS = 5000;

/** Returns the id slirp4netns gave the forward, for removeHostFwd. */
export async function addHostFwd(apiSocket: string, fwd: HostFwd, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<number> {
  const hostIP = fwd.hostIP || "0.0.0.0";
  const args: Record<string, string | number> = { proto: fwd.proto, host_addr: hostIP, host_port: fwd.hostPort, guest_port: fwd.guestPort };
  if (fwd.guestIP) args.guest_addr = fwd.guestIP;
  const guest = `${fwd.guestIP ? `${bracketed(fwd.guestIP)}:` : ""}${fwd.guestPort}`;
  const what = `setting up port redirection ${bracketed(hostIP)}:${fwd.hostPort}/${fwd.proto} -> ${guest}`;
  const reply = await request(apiSocket, { execute: "add_hostfwd", arguments: args }, what, AddHostFwdReply, timeoutMs);
  return reply.return.id;
}

export async function listHostFwd(apiSocket: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HostFwdRule[]> {
  const reply = await request(apiSocket, { execute: "list_hostfwd" }, "listing port redirections", ListHostFwdReply, timeoutMs);
  return reply.entries.map((e) => ({
    id: e.id,
    proto: e.proto,
    hostIP: e.host_addr,
    hostPort: e.host_port,
    guestIP: e.guest_addr,
    guestPort: e.guest_port,
  }));
}

export async function removeHostFwd(apiSocket: string, id: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
  await request(apiSocket, { execute: "remove_hostfwd", arguments: { id } }, `removing port redirection ${id}`, RemoveHostFwdReply, timeoutMs);
}

/** An address as it goes before ":port". */
function bracketed(ip: string): string {
  return ip.includes(":") ? `[${ip}]` : ip;
}

async function request<S extends v.GenericSchema>(
  apiSocket: string,
  body: object,
  what: string,
  schema: S,
  timeoutMs: number,
): Promise<v.InferOutput<S>> {
  const text = await exchange(apiSocket, `${JSON.stringify(body)}\n`, timeoutMs);
  if (text === "") throw new CtrnetError(`slirp4netns closed its API socket ${apiSocket} without a reply while ${what}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CtrnetError(`error parsing reply from slirp4netns while ${what}: ${JSON.stringify(text)}`);
  }
  const error = v.safeParse(ApiErrorReply, json);
  if (error.success) throw new CtrnetError(`error from slirp4netns while ${what}: ${error.output.error.desc}`);
  const parsed = v.safeParse(schema, json);
  if (!parsed.success) {
    throw new CtrnetError(`unexpected reply from slirp4netns while ${what}: ${describeIssues(parsed.issues)}`);
  }
  return parsed.output;
}

/** Sends data, shuts down the write side, and returns everything read until slirp4netns closes. */
function exchange(path: string, data: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const timer = setTimeout(() => {
      settle(new CtrnetError(`no reply from slirp4netns API socket ${path} within ${timeoutMs} ms`));
      socket?.terminate();
    }, timeoutMs);
    let socket: Bun.Socket | undefined;
    Bun.connect({
      unix: path,
      socket: {
        open(s) {
          socket = s;
          const written = s.write(data);
          if (written !== Buffer.byteLength(data)) {
            settle(new CtrnetError(`cannot write to control socket ${path}: short write`));
            s.terminate();
            return;
          }
          s.shutdown();
        },
        data(_s, chunk) {
          chunks.push(Buffer.from(chunk));
        },
        close() {
          settle();
        },
        error(_s, err) {
          settle(new CtrnetError(`cannot read from control socket ${path}: ${err.message}`, { cause: err }));
        },
      },
    }).catch((err: Error) => {
      settle(new CtrnetError(`cannot open connection to ${path}: ${err.message}`, { cause: err }));
    });
  });
}
