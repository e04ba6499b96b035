import { Netlink } from "./netlink.ts";

/** Over netlink, not `ip`: the hot path spawns nothing but CNI plugins. */
export function bringLoopbackUp(netnsPath: string): void {
  const nl = Netlink.open({ netns: netnsPath });
  try {
    nl.linkSet("lo", { up: true });
  } finally {
    nl.close();
  }
}
