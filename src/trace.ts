// CTRNET_TRACE_PHASES=1: each phase of a command on stderr, with the milliseconds since the process started
// and since the phase before, to find where an attach spends its time. Off, a call costs one comparison.
import { writeSync } from "../ffi/fs.ts";

const on = !!process.env.CTRNET_TRACE_PHASES;
let last = 0;

export function phase(name: string): void {
  if (!on) return;
  const now = performance.now();
  writeSync(2, `ctrnet: phase ${now.toFixed(2)} +${(now - last).toFixed(2)} ${name}\n`);
  last = now;
}
