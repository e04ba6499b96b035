// For tests of crash recovery only: `CTRNET_TEST_CRASH_AT=NAME` makes this process SIGKILL itself when it
// reaches the point NAME, so a test can stop an attach exactly between two of its steps and check that
// `ctrnet gc` finds what it left. The points of a native attach (drivers/bridge/attach.ts): ipam (addresses
// allocated), bridge (bridge and network in the table), veth (the pair made), firewall (ports published),
// record (the attachment recorded); of a macvlan/ipvlan attach (drivers/vlan/attach.ts): ipam, link (made
// in the container's netns), record. Unset, this is one variable read.
export function crashPoint(name: string): void {
  if (process.env.CTRNET_TEST_CRASH_AT === name) process.kill(process.pid, "SIGKILL");
}
