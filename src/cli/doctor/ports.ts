// Who else holds a published port: a program listening on the host port a container publishes gets the
// connections made from this host (DNAT applies to forwarded traffic), so the container seems not to answer.
// Sockets come from NETLINK_SOCK_DIAG; their owners from /proc/PID/fd.
import { readdirSync, readFileSync, readlinkSync, realpathSync } from "../../../ffi/fs.ts";
import { boundSockets, type InetSocket } from "../../netlink/sock-diag.ts";
import { formatPort, type PortMapping } from "../../schema/ports.ts";
import type { ContainerRecord } from "../../state/index.ts";
import { type Finding, ok, problem } from "./finding.ts";

interface Holder {
  pid: number;
  comm: string;
  exe: string;
}

/** The processes holding each socket inode; processes whose fds this user cannot read are left out. */
function socketOwners(inodes: ReadonlySet<number>): Map<number, Holder> {
  const owners = new Map<number, Holder>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = Number(/^socket:\[(\d+)\]$/.exec(target)?.[1]);
      if (!inodes.has(inode) || owners.has(inode)) continue;
      const read = (f: () => string) => {
        try {
          return f();
        } catch {
          return "";
        }
      };
      owners.set(inode, {
        pid: Number(entry),
        comm: read(() => readFileSync(`/proc/${entry}/comm`, "utf8").trim()),
        exe: read(() => realpathSync(`/proc/${entry}/exe`)),
      });
    }
  }
  return owners;
}

function clashes(port: PortMapping, socket: InetSocket): boolean {
  if (socket.protocol !== port.protocol) return false;
  if (socket.localPort < port.hostPort || socket.localPort >= port.hostPort + port.range) return false;
  const wildcard = socket.localAddress === "0.0.0.0" || socket.localAddress === "::";
  return port.hostIP === "" || wildcard || socket.localAddress === port.hostIP;
}

export function checkPorts(records: readonly ContainerRecord[], sockets: readonly InetSocket[] = boundSockets()): Finding[] {
  const published = records.flatMap((rec) => rec.ports.filter((p) => p.hostPort !== 0).map((port) => ({ rec, port })));
  const hits = published.flatMap(({ rec, port }) => sockets.filter((s) => clashes(port, s)).map((socket) => ({ rec, port, socket })));
  const owners = socketOwners(new Set(hits.map((h) => h.socket.inode)));
  const ours = new Set(records.flatMap((r) => [r.helpers.portForwarder, r.helpers.slirp4netns, r.helpers.pasta]).filter((p) => p !== null));
  const self = realpathSync(process.execPath);
  const out: Finding[] = [];
  for (const { rec, port, socket } of hits) {
    const owner = owners.get(socket.inode);
    // ctrnet's own forwarder, or a `ctrnet run` keeping its host ports bound
    if (owner && (ours.has(owner.pid) || owner.exe === self)) continue;
    const who = owner ? `pid ${owner.pid} (${owner.comm})` : `a socket of uid ${socket.uid} (inode ${socket.inode}, its process not visible to this user)`;
    const name = rec.name ? `${rec.name} (${rec.id.slice(0, 12)})` : rec.id.slice(0, 12);
    out.push(
      problem(
        "ports",
        `${formatPort(port)} of container ${name} is also bound by ${who} on ${socket.localAddress}:${socket.localPort}: connections from this host reach it, not the container`,
        `stop that program, or publish the container on another host port`,
      ),
    );
  }
  if (out.length === 0) out.push(ok("ports", `${published.length} published port${published.length === 1 ? "" : "s"}: none held by another program`));
  return out;
}
