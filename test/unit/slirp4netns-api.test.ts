// The API client against a stand-in for slirp4netns's socket that behaves as slirp4netns 1.2 does: it
// reads the request until the client shuts down its write side, answers once, and closes.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addHostFwd, listHostFwd, removeHostFwd } from "../../src/drivers/slirp4netns/api.ts";
import { CtrnetError } from "../../src/errors.ts";

let dir: string;
let path: string;
let server: Bun.UnixSocketListener<undefined> | undefined;
let requests: unknown[];

/** answer: the reply's text, or null to close without one. */
function serve(answer: (request: any) => string | null): void {
  server = Bun.listen({
    unix: path,
    allowHalfOpen: true,
    socket: {
      open(s) {
        (s as any).chunks = [];
      },
      data(s, chunk) {
        (s as any).chunks.push(Buffer.from(chunk));
      },
      end(s) {
        const request = JSON.parse(Buffer.concat((s as any).chunks).toString());
        requests.push(request);
        const reply = answer(request);
        if (reply !== null) s.write(reply);
        s.end();
      },
    },
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ctrnet-slirp-api-"));
  path = join(dir, "api.sock");
  requests = [];
});

afterEach(() => {
  server?.stop(true);
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe("slirp4netns API", () => {
  test("add_hostfwd sends podman's request and returns the id", async () => {
    serve(() => '{"return":{"id":7}}');
    expect(await addHostFwd(path, { proto: "tcp", hostIP: "127.0.0.1", hostPort: 8080, guestPort: 80 })).toBe(7);
    expect(requests).toEqual([
      { execute: "add_hostfwd", arguments: { proto: "tcp", host_addr: "127.0.0.1", host_port: 8080, guest_port: 80 } },
    ]);
  });

  test("an empty host IP is 0.0.0.0, and a guest IP is passed on", async () => {
    serve(() => '{"return":{"id":1}}');
    await addHostFwd(path, { proto: "udp", hostIP: "", hostPort: 5353, guestIP: "10.0.2.100", guestPort: 53 });
    expect(requests[0]).toEqual({
      execute: "add_hostfwd",
      arguments: { proto: "udp", host_addr: "0.0.0.0", host_port: 5353, guest_addr: "10.0.2.100", guest_port: 53 },
    });
  });

  test("one connection per request", async () => {
    let connections = 0;
    serve(() => {
      connections++;
      return `{"return":{"id":${connections}}}`;
    });
    const ids = [];
    for (const port of [8001, 8002, 8003]) ids.push(await addHostFwd(path, { proto: "tcp", hostPort: port, guestPort: 80 }));
    expect(ids).toEqual([1, 2, 3]);
  });

  test("an error reply names the port", async () => {
    serve(() => '{"error":{"desc":"bad request: add_hostfwd: slirp_add_hostfwd failed"}}');
    const err = await addHostFwd(path, { proto: "tcp", hostIP: "127.0.0.1", hostPort: 8080, guestPort: 80 }).catch((e) => e);
    expect(err).toBeInstanceOf(CtrnetError);
    expect(err.message).toBe(
      "error from slirp4netns while setting up port redirection 127.0.0.1:8080/tcp -> 80: bad request: add_hostfwd: slirp_add_hostfwd failed",
    );
  });

  test("IPv6 addresses are bracketed in messages", async () => {
    serve(() => '{"error":{"desc":"nope"}}');
    const err = await addHostFwd(path, { proto: "tcp", hostIP: "::1", hostPort: 8080, guestIP: "fd00::100", guestPort: 80 }).catch((e) => e);
    expect(err.message).toBe("error from slirp4netns while setting up port redirection [::1]:8080/tcp -> [fd00::100]:80: nope");
  });

  test("list_hostfwd", async () => {
    serve(() => '{"entries":[{"id":1,"proto":"tcp","host_addr":"127.0.0.1","host_port":8080,"guest_addr":"10.0.2.100","guest_port":80}]}');
    expect(await listHostFwd(path)).toEqual([{ id: 1, proto: "tcp", hostIP: "127.0.0.1", hostPort: 8080, guestIP: "10.0.2.100", guestPort: 80 }]);
    expect(requests).toEqual([{ execute: "list_hostfwd" }]);
  });

  test("remove_hostfwd", async () => {
    serve(() => '{"return":{}}');
    await removeHostFwd(path, 3);
    expect(requests).toEqual([{ execute: "remove_hostfwd", arguments: { id: 3 } }]);
  });

  test("remove_hostfwd of an unknown id", async () => {
    serve(() => '{"error":{"desc":"bad request: remove_hostfwd: bad arguments.id"}}');
    await expect(removeHostFwd(path, 3)).rejects.toThrow("error from slirp4netns while removing port redirection 3: bad request: remove_hostfwd: bad arguments.id");
  });

  test("a reply that is not JSON", async () => {
    serve(() => "garbage");
    await expect(listHostFwd(path)).rejects.toThrow('error parsing reply from slirp4netns while listing port redirections: "garbage"');
  });

  test("no reply at all", async () => {
    serve(() => null);
    await expect(listHostFwd(path)).rejects.toThrow(`slirp4netns closed its API socket ${path} without a reply while listing port redirections`);
  });

  test("a reply of the wrong shape is refused with the field named", async () => {
    serve(() => '{"return":{"id":"x"}}');
    await expect(addHostFwd(path, { proto: "tcp", hostPort: 1, guestPort: 1 })).rejects.toThrow(
      "unexpected reply from slirp4netns while setting up port redirection 0.0.0.0:1/tcp -> 1: return.id: expected number",
    );
  });

  test("no socket", async () => {
    await expect(listHostFwd(path)).rejects.toThrow(`cannot open connection to ${path}`);
  });

  test("a socket that never answers times out", async () => {
    server = Bun.listen({ unix: path, allowHalfOpen: true, socket: { data() {}, end() {} } });
    await expect(listHostFwd(path, 100)).rejects.toThrow(`no reply from slirp4netns API socket ${path} within 100 ms`);
  });
});
