// What the host (the netns ctrnet runs in) has that a new network must avoid, and the bridge a removed
// network leaves: read and changed over rtnetlink, never by spawning `ip`.
import { type Cidr, parseCidr } from "../ip/codec.ts";
import { isNetlinkError, Netlink } from "../netlink/index.ts";

export interface HostView {
  /** Destinations of the main table's routes, both families, the default routes left out. */
  routes: Cidr[];
  links: Set<string>;
}

function withNetlink<T>(fn: (nl: Netlink) => T): T {
  const nl = Netlink.open();
  try {
    return fn(nl);
  } finally {
    nl.close();
  }
}

export function readHost(): HostView {
  return withNetlink((nl) => ({
    routes: nl
      .routes()
      .map((r) => (r.dst === "default" ? null : parseCidr(r.dst)))
      .filter((c): c is Cidr => c !== null),
    links: new Set(nl.links().map((l) => l.name)),
  }));
}

/** Deletes the bridge named `name` if there is one; another kind of link by that name is not ours to delete. */
export function deleteBridge(name: string): boolean {
  return withNetlink((nl) => {
    try {
      if (nl.link(name).kind !== "bridge") return false;
      nl.linkDelete(name);
      return true;
    } catch (err) {
      // No such link, or gone between the two calls: what was wanted.
      if (isNetlinkError(err, "ENODEV")) return false;
      throw err;
    }
  });
}
