// One command's context, built and closed around it. A DNS server that should run but died (kill -9) is
// started again first, so it stays down only until the next ctrnet command; after a reboot, the first
// command makes root's native networks' subnet reservations again (networks/reserve.ts).
import { type Context, type ContextOptions, createContext } from "./context.ts";
import { restoreReservations } from "../networks/reserve.ts";
import { reviveDns } from "./dns.ts";

/** Builds the context for one command and closes it however the command ends. */
export async function withContext<T>(options: ContextOptions, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = createContext(options);
  try {
    await restoreReservations(ctx);
    await reviveDns(ctx);
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}
