// doctor's pure parts: inet_diag's wire format (golden bytes), /etc/subuid parsing, subnet overlaps.
import { describe, expect, test } from "bun:test";
import { subordinateIds } from "../../src/cli/doctor/host.ts";
import { checkSubnets } from "../../src/cli/doctor/networks.ts";
import { parseNetworkConfig } from "../../src/drivers/cni/index.ts";
import { parseCidr } from "../../src/ip/codec.ts";
import { decodeInetDiagMsg, inetDiagRequest } from "../../src/netlink/sock-diag.ts";
import { Writer } from "../../src/netlink/wire.ts";

describe("inet_diag", () => {
  test("a request for listening TCP sockets of AF_INET", () => {
    const w = new Writer();
    inetDiagRequest(w, 2, 6, 1 << 10);
    // family AF_INET, protocol TCP, ext 0, pad 0, states 1<<TCP_LISTEN (host order), a zeroed sockid
    expect([...w.finish()]).toEqual([2, 6, 0, 0, 0x00, 0x04, 0x00, 0x00, ...new Array(48).fill(0)]);
  });

  test("a reply: a UDP socket bound to [::1]:5353, uid 1000, inode 4660", () => {
    const msg = new Uint8Array(72);
    msg.set([10, 7, 0, 0]); // AF_INET6, TCP_CLOSE (an unconnected UDP socket), timer, retrans
    msg.set([0x14, 0xe9], 4); // source port 5353, big-endian
    msg[23] = 1; // source address ::1 (bytes 8..23)
    new DataView(msg.buffer).setUint32(64, 1000, true); // uid
    new DataView(msg.buffer).setUint32(68, 0x1234, true); // inode
    expect(decodeInetDiagMsg(msg, "udp")).toEqual({ family: 6, protocol: "udp", state: 7, localAddress: "::1", localPort: 5353, uid: 1000, inode: 4660 });
  });
});

test("subordinate ids: by name or uid, every range of the user added up", () => {
  const text = "alice:100000:65536\nbob:165536:1000\n1001:200000:70000\nbob:300000:500\n# x\n";
  expect(subordinateIds(text, "alice", 1000)).toBe(65536);
  expect(subordinateIds(text, "bob", 1001)).toBe(71500);
  expect(subordinateIds(text, "carol", 1002)).toBe(0);
});

describe("subnets", () => {
  const network = (name: string, bridge: string, subnet: string) => {
    const conf = { cniVersion: "1.0.0", name, plugins: [{ type: "bridge", bridge, ipam: { type: "host-local", ranges: [[{ subnet }]] } }] };
    return parseNetworkConfig(JSON.stringify(conf), `/x/${name}.conflist`);
  };
  test("overlapping networks and a route through another interface are problems; the network's own route is not", () => {
    const a = network("a", "br-a", "10.1.0.0/16");
    const b = network("b", "br-b", "10.1.2.0/24");
    const c = network("c", "br-c", "10.2.0.0/24");
    const routes = [
      { dst: parseCidr("10.2.0.0/24")!, dev: "br-c" },
      { dst: parseCidr("10.2.0.128/25")!, dev: "eth0" },
    ];
    const found = checkSubnets([a, b, c], routes);
    expect(found.map((f) => `${f.status} ${f.check}: ${f.detail}`)).toEqual([
      "problem subnets: networks a (10.1.0.0/16) and b (10.1.2.0/24) overlap: their containers can be given the same address",
      "problem routes: host route 10.2.0.128/25 dev eth0 overlaps network c (10.2.0.0/24) on br-c: one side cannot reach the other",
    ]);
    expect(checkSubnets([a, c], [routes[0]!])).toEqual([{ check: "subnets", status: "ok", detail: "2 subnets of 2 networks: no overlaps" }]);
  });
});
