// One command's context, built and closed around it. A DNS server that should run but died (kill -9) is
// started again first, so it stays down only until the next ctrnet command.
import { type Context, type ContextOptions, createContext } from "./context.ts";
import { reviveDns } from "./dns.ts";

/** Builds the context for one command and closes it however the command ends. */
export async function withContext<T>(options: ContextOptions, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = createContext(options);
  try {
    await reviveDns(ctx);
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}
