// Hidden `ctrnet _pause`: the process that holds the rootless namespace open (see pause.ts). It only waits.
import { defineCommand } from "citty";

// setInterval's longest delay; the timer only keeps the event loop, and so the process, alive.
const MAX_DELAY_MS = 2 ** 31 - 1;

export default defineCommand({
  meta: { name: "_pause", description: "Holds the rootless namespace open (internal)" },
  run() {
    // Its own session keeps terminals from sending these; ignored all the same, as podman's pause does.
    // SIGTERM keeps its default action: it is how `ctrnet gc` stops this process.
    for (const signal of ["SIGINT", "SIGHUP"] as const) process.on(signal, () => {});
    return new Promise<never>(() => setInterval(() => {}, MAX_DELAY_MS));
  },
});
