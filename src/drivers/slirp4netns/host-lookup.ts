// The HostLookup parseSlirp4netnsOptions needs, answered for the network namespace this thread is in,
// which is where slirp4netns will run and resolve outbound_addr interface names.
import { readFileSync } from "../../../ffi/fs.ts";
import type { HostLookup } from "./options.ts";

export const hostLookup: HostLookup = {
  interfaceExists(name) {
    // /proc/net/dev follows the reader's netns, unlike /sys/class/net (the netns that mounted sysfs)
    const lines = readFileSync("/proc/net/dev", "utf8").split("\n").slice(2);
    return lines.some((line) => line.slice(0, line.indexOf(":")).trim() === name);
  },
};
