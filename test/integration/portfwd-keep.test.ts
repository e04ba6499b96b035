// ctrnet's forwarder keeping the client's address when the server is in the netns it connects from (as in a
// slirp4netns container), end to end: the compiled binary as `_rootlessport`, a netns with a default route (a
// client on the host's loopback appears as its gateway), servers inside, clients on this side's loopback. TCP
// goes back by the sockets' marks alone, without a table (drivers/portfwd/return-path.ts); UDP by connmark.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { startPortForwarder, type PortForward, type PortForwarder } from "../../src/drivers/portfwd/index.ts";
import { createNetns, removeNetns, type Netns } from "../../src/netns/index.ts";
import { ensureBinary } from "../helpers/binary.ts";
import { withNetns } from "../helpers/netns.ts";

const HOST_IF = `pkh${process.pid % 100000}`;
const GATEWAY = "10.214.0.1";
const CHILD = "10.214.0.2";
const GATEWAY6 = "fd00:214::1";
const CHILD6 = "fd00:214::2";
const hasIPv6 = existsSync("/proc/sys/net/ipv6");

let ns: Netns;
let binary: string;
let nextPort = 10000 + Math.floor(Math.random() * 20000);
const freshPort = (): number => nextPort++;

function run(argv: string[]): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

const inNetns = (argv: string[]): string => withNetns(ns.path, () => run(argv));

beforeAll(() => {
  binary = ensureBinary();
  ns = createNetns();
  run(["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", "eth0", "netns", ns.path]);
  run(["ip", "link", "set", HOST_IF, "up"]);
  inNetns(["ip", "link", "set", "lo", "up"]);
  inNetns(["ip", "addr", "add", `${CHILD}/24`, "dev", "eth0"]);
  if (hasIPv6) inNetns(["ip", "-6", "addr", "add", `${CHILD6}/64`, "dev", "eth0", "nodad"]);
  inNetns(["ip", "link", "set", "eth0", "up"]);
  inNetns(["ip", "route", "add", "default", "via", GATEWAY]);
  if (hasIPv6) inNetns(["ip", "-6", "route", "add", "default", "via", GATEWAY6]);
});

afterAll(() => {
  run(["ip", "link", "del", HOST_IF]);
  removeNetns(ns.path);
});

/** A TCP server in the netns that, once the client half-closes, answers "PEER PAYLOAD-SHA256" and closes. */
function tcpServer(hostname: string, port: number): { stop: () => void } {
  const server = withNetns(ns.path, () =>
    Bun.listen<{ got: Buffer[] }>({
      hostname,
      port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          s.data = { got: [] };
        },
        data(s, chunk) {
          s.data.got.push(Buffer.from(chunk));
        },
        end(s) {
          s.end(`${s.remoteAddress} ${sha256(Buffer.concat(s.data.got))}`);
        },
      },
    }),
  );
  return { stop: () => server.stop(true) };
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** Sends payload, half-closes, and reads the answer to the end: [peer the server saw, whether the payload arrived whole]. */
function exchange(host: string, port: number, payload: Buffer): Promise<[string, boolean]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port, allowHalfOpen: true }, () => s.end(payload));
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => {
      s.destroy();
      const [peer, digest] = Buffer.concat(chunks).toString().split(" ");
      resolve([peer ?? "", digest === sha256(payload)]);
    });
    s.on("error", reject);
  });
}

/** What a connection to a port nothing listens on ends in: "ECONNRESET" when the refusal reached the client. */
function refused(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port }, () => s.write("x"));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    s.on("end", () => resolve("end"));
  });
}

function forward(ports: PortForward[]): Promise<PortForwarder> {
  return startPortForwarder({ binary, netnsPath: ns.path, childIP: CHILD, childIP6: hasIPv6 ? CHILD6 : undefined, ports });
}

const tables = (): string => inNetns(["nft", "list", "tables"]).trim();

describe("the forwarder keeps the client's address of a server in its netns", () => {
  test("TCP, IPv4 and IPv6: a loopback client is the gateway, both ways whole, with no nf_tables table (no conntrack)", async () => {
    const [hostPort, hostPort6, containerPort] = [freshPort(), freshPort(), freshPort()];
    const servers = [tcpServer(CHILD, containerPort), ...(hasIPv6 ? [tcpServer(CHILD6, containerPort)] : [])];
    const fwd = await forward([
      { hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp", range: 1 },
      ...(hasIPv6 ? [{ hostIP: "::1", hostPort: hostPort6, containerPort, protocol: "tcp" as const, range: 1 }] : []),
    ]);
    try {
      const payload = randomBytes(8 << 20);
      expect(await exchange("127.0.0.1", hostPort, payload)).toEqual([GATEWAY, true]);
      if (hasIPv6) expect(await exchange("::1", hostPort6, payload)).toEqual([GATEWAY6, true]);
      expect(tables()).toBe("");
      expect(withNetns(ns.path, () => readFileSync("/proc/sys/net/ipv4/tcp_fwmark_accept", "utf8").trim())).toBe("1");
    } finally {
      await fwd.stop();
      for (const s of servers) s.stop();
    }
  });

  test("a port nothing listens on in the netns resets the client (the kernel's reset comes back to the marked socket)", async () => {
    const [hostPort, hostPort6, containerPort] = [freshPort(), freshPort(), freshPort()];
    const fwd = await forward([
      { hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp", range: 1 },
      ...(hasIPv6 ? [{ hostIP: "::1", hostPort: hostPort6, containerPort, protocol: "tcp" as const, range: 1 }] : []),
    ]);
    try {
      expect(await refused("127.0.0.1", hostPort)).toBe("ECONNRESET");
      if (hasIPv6) expect(await refused("::1", hostPort6)).toBe("ECONNRESET");
      const server = tcpServer(CHILD, containerPort);
      try {
        expect(await exchange("127.0.0.1", hostPort, Buffer.from("again"))).toEqual([GATEWAY, true]);
      } finally {
        server.stop();
      }
    } finally {
      await fwd.stop();
    }
  });

  test("with a UDP port too: UDP is kept by connmark (the table), TCP still by its marks", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = tcpServer(CHILD, containerPort);
    const udp = await withNetns(ns.path, () =>
      Bun.udpSocket({
        hostname: CHILD,
        port: containerPort,
        socket: { data: (s, _buf, fromPort, fromAddr) => void s.send(fromAddr, fromPort, fromAddr) },
      }),
    );
    const fwd = await forward([
      { hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp", range: 1 },
      { hostIP: "127.0.0.1", hostPort, containerPort, protocol: "udp", range: 1 },
    ]);
    const client = await Bun.udpSocket({ socket: { data: (_s, buf) => answer(buf.toString()) } });
    let answer!: (text: string) => void;
    const answered = new Promise<string>((resolve) => (answer = resolve));
    try {
      client.send("who", hostPort, "127.0.0.1");
      expect(await answered).toBe(GATEWAY);
      expect(await exchange("127.0.0.1", hostPort, Buffer.from("tcp"))).toEqual([GATEWAY, true]);
      expect(tables()).toBe("table inet ctrnet-portfwd");
    } finally {
      client.close();
      await fwd.stop();
      udp.close();
      server.stop();
    }
  });
});
