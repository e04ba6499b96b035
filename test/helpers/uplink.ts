// A way out for pasta in a test's private network namespace, which has only loopback: pasta copies the
// addresses and default routes of the host's outbound interface and won't start without one. A veth pair
// (this kernel has no dummy links) with documentation addresses, IPv4 and IPv6 (no DAD, so the
// address is usable at once); nothing is routed anywhere, the test traffic stays on loopback.
export const UPLINK = {
  name: "ctrup0",
  peer: "ctrup1",
  ipv4: "192.0.2.1",
  prefix4: 24,
  gateway4: "192.0.2.2",
  ipv6: "2001:db8::1",
  prefix6: 64,
  gateway6: "2001:db8::2",
} as const;

function ip(args: string[]): void {
  const r = Bun.spawnSync(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`);
}

/** Makes the uplink in this thread's netns; returns its removal (the peer and routes go with it). */
export function addUplink(): () => void {
  const u = UPLINK;
  ip(["link", "add", u.name, "type", "veth", "peer", "name", u.peer]);
  try {
    ip(["addr", "add", `${u.ipv4}/${u.prefix4}`, "dev", u.name]);
    ip(["-6", "addr", "add", `${u.ipv6}/${u.prefix6}`, "dev", u.name, "nodad"]);
    ip(["link", "set", u.peer, "up"]);
    ip(["link", "set", u.name, "up"]);
    ip(["route", "add", "default", "via", u.gateway4, "dev", u.name]);
    ip(["-6", "route", "add", "default", "via", u.gateway6, "dev", u.name]);
  } catch (err) {
    ip(["link", "del", u.name]);
    throw err;
  }
  return () => ip(["link", "del", u.name]);
}
