// One command's context, built and closed around it. A DNS server that should run but died (kill -9) is
// started again first, so it stays down only until the next ctrnet command; after a reboot, the first
// command that succeeds makes root's native networks' subnet reservations again (networks/reserve.ts).
import { type Context, type ContextOptions, createContext } from "./context.ts";
import { restoreReservations } from "../networks/reserve.ts";
import { reviveDns } from "./dns.ts";

/** Builds the context for one command and closes it however the command ends. */
export async function withContext<T>(options: ContextOptions, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = createContext(options);
  try {
    await reviveDns(ctx);
    const result = await fn(ctx);
    // after the command, and only when it succeeded: a refused one leaves nothing, not even the boot's mark
    await restoreReservations(ctx);
    return result;
  } finally {
    ctx.close();
  }
}
