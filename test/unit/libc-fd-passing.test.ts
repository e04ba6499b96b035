// SCM_RIGHTS over a unix socket, which a create hands its host ports' sockets to the helper supervisor by:
// the descriptors arrive (close-on-exec) naming the same open files, with the bytes sent beside them.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as libc from "../../ffi/libc.ts";

const opened: number[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const fd of opened.splice(0)) libc.close(fd);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function connectedPair(): [number, number] {
  const dir = mkdtempSync(join(tmpdir(), "ctrnet-fd-passing-"));
  dirs.push(dir);
  const path = join(dir, "s");
  const listener = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  opened.push(listener);
  libc.bind(listener, libc.unixAddress(path));
  libc.listen(listener, 1);
  const client = libc.socket(libc.AF_UNIX, libc.SOCK_STREAM, 0);
  opened.push(client);
  libc.connect(client, libc.unixAddress(path));
  const server = libc.accept(listener);
  opened.push(server);
  return [client, server];
}

test("descriptors sent with a message arrive close-on-exec and name the same files", () => {
  const [client, server] = connectedPair();
  const [r1, w1] = libc.pipe2();
  const [r2, w2] = libc.pipe2();
  opened.push(r1, w1, r2, w2);
  expect(libc.sendWithFds(client, Buffer.from("hold a\n"), [w1, w2])).toBe(7);
  const got = libc.receiveWithFds(server, 64, 8);
  opened.push(...got.fds);
  expect(Buffer.from(got.data).toString()).toBe("hold a\n");
  expect(got.fds).toHaveLength(2);
  for (const fd of got.fds) expect(libc.fcntl(fd, libc.F_GETFD) & libc.FD_CLOEXEC).toBe(libc.FD_CLOEXEC);
  libc.write(got.fds[0]!, new Uint8Array([1]));
  libc.write(got.fds[1]!, new Uint8Array([2]));
  const byte = new Uint8Array(1);
  libc.read(r1, byte);
  expect(byte[0]).toBe(1);
  libc.read(r2, byte);
  expect(byte[0]).toBe(2);
});

test("a message without descriptors, and the end of the stream", () => {
  const [client, server] = connectedPair();
  libc.sendWithFds(client, Buffer.from("sync a\n"), []);
  const got = libc.receiveWithFds(server, 64, 8);
  expect(Buffer.from(got.data).toString()).toBe("sync a\n");
  expect(got.fds).toEqual([]);
  libc.close(opened.splice(opened.indexOf(client), 1)[0]!);
  expect(libc.receiveWithFds(server, 64, 8).data.byteLength).toBe(0);
});
