// ctrnet's port forwarder end to end: the compiled binary as `_rootlessport`, a netns joined to this (private)
// host by a veth pair, servers inside the netns, clients on this side's loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import net from "node:net";
import * as libc from "../../ffi/libc.ts";
import { startPortForwarder, type PortForward, type PortForwarder } from "../../src/drivers/portfwd/index.ts";
import { createNetns, removeNetns, type Netns } from "../../src/netns/index.ts";
import { ensureBinary, ROOT } from "../helpers/binary.ts";
import { withNetns } from "../helpers/netns.ts";

const HOST_IF = `pfh${process.pid % 100000}`;
const HOST_IP = "10.213.0.1";
const CHILD_IP = "10.213.0.2";
const CHILD_IP6 = "fd00:213::2";
const hasIPv6 = existsSync("/proc/sys/net/ipv6");

let ns: Netns;
let binary: string;
// Below the ephemeral range (32768 and up): the forwarder's own connections inside the netns take ports
// from there, and one still in TIME_WAIT would make a server's port busy.
let nextPort = 10000 + Math.floor(Math.random() * 20000);
const freshPort = (count = 1): number => (nextPort += count) - count;

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString().trim()}`);
}

const inNetns = (argv: string[]): void => withNetns(ns.path, () => run(argv));

beforeAll(() => {
  binary = ensureBinary();
  ns = createNetns();
  run(["ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", "eth0", "netns", ns.path]);
  run(["ip", "addr", "add", `${HOST_IP}/24`, "dev", HOST_IF]);
  run(["ip", "link", "set", HOST_IF, "up"]);
  inNetns(["ip", "link", "set", "lo", "up"]);
  inNetns(["ip", "addr", "add", `${CHILD_IP}/24`, "dev", "eth0"]);
  if (hasIPv6) inNetns(["ip", "-6", "addr", "add", `${CHILD_IP6}/64`, "dev", "eth0", "nodad"]);
  inNetns(["ip", "link", "set", "eth0", "up"]);
});

afterAll(() => {
  // Deleting one end removes the pair now, not whenever the kernel gets round to the netns.
  run(["ip", "link", "del", HOST_IF]);
  removeNetns(ns.path);
});

/** A TCP server in the netns that, once the client half-closes, answers "PEER PAYLOAD" and closes. */
function tcpServer(hostname: string, port: number): { stop: () => void } {
  const server = withNetns(ns.path, () =>
    Bun.listen<{ got: string }>({
      hostname,
      port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          s.data = { got: "" };
        },
        data(s, chunk) {
          s.data.got += chunk.toString();
        },
        end(s) {
          s.end(`${s.remoteAddress} ${s.localPort} ${s.data.got}`);
        },
      },
    }),
  );
  return { stop: () => server.stop(true) };
}

/** Sends payload, half-closes, and reads the answer to the end. */
function exchange(host: string, port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port, allowHalfOpen: true }, () => s.end(payload));
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString());
    });
    s.on("error", reject);
  });
}

interface Echo {
  pending: Buffer[];
  ended: boolean;
}

/** Writes what the socket has not taken yet, then half-closes once the client has and everything went out. */
function flush(s: Socket<Echo>): void {
  while (s.data.pending.length > 0) {
    const head = s.data.pending[0]!;
    const n = s.write(head);
    if (n < head.length) {
      s.data.pending[0] = head.subarray(Math.max(n, 0));
      return;
    }
    s.data.pending.shift();
  }
  if (s.data.ended) s.end();
}

/** A TCP server in the netns that sends back every byte as it comes, minding backpressure, and half-closes after the client. */
function echoServer(port: number): { stop: () => void } {
  const server = withNetns(ns.path, () =>
    Bun.listen<Echo>({
      hostname: CHILD_IP,
      port,
      allowHalfOpen: true,
      socket: {
        open(s) {
          s.data = { pending: [], ended: false };
        },
        data(s, chunk) {
          s.data.pending.push(Buffer.from(chunk));
          flush(s);
        },
        drain: flush,
        end(s) {
          s.data.ended = true;
          flush(s);
        },
      },
    }),
  );
  return { stop: () => server.stop(true) };
}

const sha256 = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** Sends payload and half-closes while reading what comes back at the same time; resolves with all of it. */
function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => s.end(payload));
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("end", () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    });
    s.on("error", reject);
  });
}

async function udpEchoServer(port: number): Promise<{ stop: () => void }> {
  const { pending } = withNetns(ns.path, () => ({
    pending: Bun.udpSocket({
      hostname: CHILD_IP,
      port,
      socket: {
        data(s, buf, fromPort, fromAddr) {
          s.send(`${fromAddr}:${fromPort} ${buf.toString()}`, fromPort, fromAddr);
        },
      },
    }),
  }));
  const socket = await pending;
  return { stop: () => socket.close() };
}

async function udpAsk(port: number, payload: string): Promise<string> {
  let answer!: (text: string) => void;
  const answered = new Promise<string>((resolve) => (answer = resolve));
  const client = await Bun.udpSocket({ socket: { data: (_s, buf) => answer(buf.toString()) } });
  try {
    client.send(payload, port, "127.0.0.1");
    return await answered;
  } finally {
    client.close();
  }
}

function forward(ports: PortForward[] | Partial<PortForward>[], childIP = CHILD_IP): Promise<PortForwarder> {
  return startPortForwarder({ binary, netnsPath: ns.path, childIP, ports: ports as PortForward[] });
}

function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.startsWith("Z");
  } catch {
    return true;
  }
}

/** The forwarder's threads, and its open sockets and pipes. */
function resources(pid: number): { threads: number; sockets: number; pipes: number } {
  const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return ""; // closed meanwhile
    }
  });
  return {
    threads: readdirSync(`/proc/${pid}/task`).length,
    sockets: links.filter((l) => l.startsWith("socket:")).length,
    pipes: links.filter((l) => l.startsWith("pipe:")).length,
  };
}

/** Connects, and resolves once the connection is open; the caller ends it. */
function openIdle(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.on("error", reject);
  });
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(25);
  if (!cond()) throw new Error(`gave up waiting: ${what}`);
}

describe("port forwarder", () => {
  test("TCP reaches the container from 127.0.0.1, seen from inside the netns, with half-close both ways", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = tcpServer(CHILD_IP, containerPort);
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      const answer = await exchange("127.0.0.1", hostPort, "hello");
      const [peer, port, got] = answer.split(" ");
      expect(got).toBe("hello");
      expect(port).toBe(String(containerPort));
      expect(peer).toBe(CHILD_IP);
      expect(peer).not.toBe("127.0.0.1");
    } finally {
      await fwd.stop();
      server.stop();
    }
    expect(isGone(fwd.pid)).toBe(true);
  });

  test("listens only on the host address asked for", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = tcpServer(CHILD_IP, containerPort);
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      await expect(exchange(HOST_IP, hostPort, "x")).rejects.toThrow("ECONNREFUSED");
    } finally {
      await fwd.stop();
      server.stop();
    }
  });

  test("a connection the container refuses is reset, and the forwarder keeps serving", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      await expect(exchange("127.0.0.1", hostPort, "x")).rejects.toThrow("ECONNRESET");
      const server = tcpServer(CHILD_IP, containerPort);
      try {
        expect(await exchange("127.0.0.1", hostPort, "again")).toEndWith(" again");
      } finally {
        server.stop();
      }
    } finally {
      await fwd.stop();
    }
  });

  test("many connections at once, and more after them, each get their own answer", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = tcpServer(CHILD_IP, containerPort);
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      // waves of connections served together by the loops, the later ones on pipes and loops the earlier left
      const wave = (tag: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => exchange("127.0.0.1", hostPort, `${tag}${i}`)));
      for (const [tag, n] of [["a", 150], ["b", 150], ["c", 20]] as const) {
        const answers = await wave(tag, n);
        expect(answers.map((a) => a.split(" ")[2])).toEqual(Array.from({ length: n }, (_, i) => `${tag}${i}`));
      }
      // a large payload through pipes other connections used, both ways whole
      const big = "x".repeat(3 << 20);
      expect((await exchange("127.0.0.1", hostPort, big)).split(" ")[2]!.length).toBe(big.length);
    } finally {
      await fwd.stop();
      server.stop();
    }
  });

  test("large transfers both ways at once, several connections together, arrive whole and in order", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = echoServer(containerPort);
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      // more than a socket buffer and a grown pipe hold, so both ways wait on the other side in turn
      const payloads = [24 << 20, 5 << 20, 1, 300_000].map((n) => randomBytes(n));
      const echoed = await Promise.all(payloads.map((p) => roundTrip(hostPort, p)));
      expect(echoed.map((e) => [e.length, sha256(e)])).toEqual(payloads.map((p) => [p.length, sha256(p)]));
    } finally {
      await fwd.stop();
      server.stop();
    }
  });

  test("the container speaks first and half-closes first; the client still sends afterwards and it arrives", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    let heard!: (text: string) => void;
    const serverGot = new Promise<string>((resolve) => (heard = resolve));
    // node:net's: Bun.listen's end() closes the socket altogether
    const server = withNetns(ns.path, () =>
      net
        .createServer({ allowHalfOpen: true }, (s) => {
          let got = "";
          s.end("hello first");
          s.on("data", (c: Buffer) => (got += c.toString()));
          s.on("end", () => heard(got));
        })
        .listen(containerPort, CHILD_IP),
    );
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      const greeting = await new Promise<string>((resolve, reject) => {
        let text = "";
        const s = net.connect({ host: "127.0.0.1", port: hostPort, allowHalfOpen: true });
        s.on("data", (c: Buffer) => (text += c.toString()));
        // only after the container's end has come through: the client answers, then ends its side too
        s.on("end", () => s.end("sent after the server's end", () => resolve(text)));
        s.on("error", reject);
      });
      expect(greeting).toBe("hello first");
      expect(await serverGot).toBe("sent after the server's end");
    } finally {
      await fwd.stop();
      server.close();
    }
  });

  test("a client that half-closes before the container has taken the connection still gets its answer", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = tcpServer(CHILD_IP, containerPort);
    // the forwarder's first SYN to the container is lost: its connection is still being made for a second
    inNetns(["nft", "add", "table", "inet", "pfdelay"]);
    inNetns(["nft", "add", "chain", "inet", "pfdelay", "out", "{ type filter hook output priority 0; }"]);
    inNetns(["nft", "add", "rule", "inet", "pfdelay", "out", "tcp", "dport", String(containerPort), "tcp", "flags", "syn", "quota", "until", "100", "bytes", "drop"]);
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      const [peer, port, got] = (await exchange("127.0.0.1", hostPort, "")).split(" ");
      expect([peer, port, got]).toEqual([CHILD_IP, String(containerPort), ""]);
    } finally {
      await fwd.stop();
      server.stop();
      inNetns(["nft", "delete", "table", "inet", "pfdelay"]);
    }
  });

  test("a container that resets the connection resets the client's too", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = withNetns(ns.path, () =>
      Bun.listen({ hostname: CHILD_IP, port: containerPort, socket: { data: (s) => s.terminate() } }),
    );
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      const outcome = await new Promise<string>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port: hostPort }, () => s.write("x"));
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        s.on("end", () => resolve("end"));
      });
      expect(outcome).toBe("ECONNRESET");
    } finally {
      await fwd.stop();
      server.stop(true);
    }
  });

  test("idle connections cost the forwarder two sockets each, no thread and no pipe; closed ones leave nothing behind", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = tcpServer(CHILD_IP, containerPort);
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }]);
    try {
      const before = resources(fwd.pid);
      const idle = await Promise.all(Array.from({ length: 40 }, () => openIdle(hostPort)));
      // each: the client's socket and the one to the container, once the forwarder has accepted them all
      await until("the forwarder to accept 40 connections", () => resources(fwd.pid).sockets === before.sockets + 80);
      expect(resources(fwd.pid)).toEqual({ ...before, sockets: before.sockets + 80 });
      for (const s of idle) s.end();
      await until("the forwarder to close them", () => resources(fwd.pid).sockets === before.sockets);
      // traffic makes pipes, kept in the loops' pools for the next connections: no socket stays
      await Promise.all(Array.from({ length: 20 }, (_, i) => exchange("127.0.0.1", hostPort, `t${i}`)));
      await until("the forwarder to close them", () => resources(fwd.pid).sockets === before.sockets);
      expect(resources(fwd.pid).threads).toBe(before.threads);
    } finally {
      await fwd.stop();
      server.stop();
    }
  });

  test("UDP goes both ways, each client through its own flow", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = await udpEchoServer(containerPort);
    const fwd = await forward([{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "udp" }]);
    try {
      const [a, b] = await Promise.all([udpAsk(hostPort, "ping-a"), udpAsk(hostPort, "ping-b")]);
      const [peerA, textA] = a.split(" ");
      const [peerB, textB] = b.split(" ");
      expect([textA, textB]).toEqual(["ping-a", "ping-b"]);
      expect(peerA!.startsWith(`${CHILD_IP}:`)).toBe(true);
      expect(peerB!.startsWith(`${CHILD_IP}:`)).toBe(true);
      expect(peerA).not.toBe(peerB);
    } finally {
      await fwd.stop();
      server.stop();
    }
  });

  test("a range of 3 ports maps each host port to its own container port", async () => {
    const [hostPort, containerPort] = [freshPort(3), freshPort(3)];
    const servers = [0, 1, 2].map((i) => tcpServer(CHILD_IP, containerPort + i));
    const fwd = await forward([{ hostIP: "", hostPort, containerPort, protocol: "tcp", range: 3 }]);
    try {
      for (const i of [0, 1, 2]) {
        const [, port, got] = (await exchange("127.0.0.1", hostPort + i, `p${i}`)).split(" ");
        expect([port, got]).toEqual([String(containerPort + i), `p${i}`]);
      }
    } finally {
      await fwd.stop();
      for (const s of servers) s.stop();
    }
  });

  test.skipIf(!hasIPv6)("IPv6: [::1] forwards to a v6 container address", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const server = tcpServer(CHILD_IP6, containerPort);
    const fwd = await forward([{ hostIP: "::1", hostPort, containerPort, protocol: "tcp" }], CHILD_IP6);
    try {
      const [peer, , got] = (await exchange("::1", hostPort, "six")).split(" ");
      expect([peer, got]).toEqual([CHILD_IP6, "six"]);
    } finally {
      await fwd.stop();
      server.stop();
    }
  });

  test("a host port already in use fails before ready, with one line naming it", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const taken = Bun.listen({ hostname: "127.0.0.1", port: hostPort, socket: { data() {} } });
    try {
      const err = await forward([
        { hostIP: "127.0.0.1", hostPort: freshPort(), containerPort, protocol: "tcp" },
        { hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" },
      ]).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).name).toBe("CtrnetError");
      expect((err as Error).message).toBe(`port forwarder: failed to listen on 127.0.0.1:${hostPort}/tcp: address already in use`);
    } finally {
      taken.stop(true);
    }
  });

  test("the forwarder exits when its parent is killed with SIGKILL", async () => {
    const [hostPort, containerPort] = [freshPort(), freshPort()];
    const config = { netnsPath: ns.path, childIP: CHILD_IP, ports: [{ hostIP: "127.0.0.1", hostPort, containerPort, protocol: "tcp" }] };
    const parent = Bun.spawn([process.execPath, `${ROOT}/test/integration/portfwd-parent.fixture.ts`, binary, JSON.stringify(config)], {
      stdout: "pipe",
      stderr: "inherit",
    });
    let forwarderPid = 0;
    try {
      const reader = parent.stdout.getReader();
      const first = await reader.read();
      reader.releaseLock();
      forwarderPid = Number(new TextDecoder().decode(first.value).trim());
      expect(forwarderPid).toBeGreaterThan(0);
      expect(isGone(forwarderPid)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
      await parent.exited;
    }
    await until(`forwarder ${forwarderPid} to exit`, () => isGone(forwarderPid));
  });
});

describe("_rootlessport input", () => {
  /** Runs the command as startPortForwarder does, with exit and ready pipes, and returns what it said. */
  async function runWith(config: unknown): Promise<{ code: number | null; stdout: string; ready: string }> {
    const [exitRead, exitWrite] = libc.pipe2();
    const [readyRead, readyWrite] = libc.pipe2();
    const proc = Bun.spawn([binary, "_rootlessport"], { stdio: ["pipe", "pipe", "pipe", exitRead, readyWrite] });
    libc.close(exitRead);
    libc.close(readyWrite);
    try {
      proc.stdin.write(JSON.stringify(config));
      await proc.stdin.end();
      const [stdout] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      const ready = Buffer.alloc(8);
      const n = libc.read(readyRead, ready);
      return { code: proc.exitCode, stdout, ready: ready.subarray(0, n).toString() };
    } finally {
      libc.close(exitWrite);
      libc.close(readyRead);
    }
  }

  const good = { hostIP: "127.0.0.1", hostPort: 18080, containerPort: 80, protocol: "tcp" };
  const cases: [string, unknown, string][] = [
    ["a missing field", { netnsPath: "/x", childIP: CHILD_IP, ports: [{ ...good, hostPort: undefined }] }, "ports[0].hostPort: missing"],
    ["container port 0", { netnsPath: "/x", childIP: CHILD_IP, ports: [{ ...good, containerPort: 0 }] }, "ports[0].containerPort: expected a port number"],
    ["a bad IP", { netnsPath: "/x", childIP: "10.213.0.300", ports: [good] }, "childIP: expected an IP address"],
  ];
  for (const [what, config, line] of cases) {
    test(`${what}: exit 2, one line naming the field, never ready`, async () => {
      const r = await runWith(config);
      expect(r.code).toBe(2);
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toStartWith(`invalid port forwarder config: ${line}`);
      expect(r.ready).toBe("");
    });
  }

  test("a netns path that is not there fails before ready", async () => {
    const r = await runWith({ netnsPath: `${ns.path}-missing`, childIP: CHILD_IP, ports: [good] });
    expect(r.code).not.toBe(0);
    expect(r.stdout.trim()).toBe(`network namespace ${ns.path}-missing does not exist`);
    expect(r.ready).toBe("");
  });
});
