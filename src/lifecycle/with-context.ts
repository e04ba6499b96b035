import { type Context, type ContextOptions, createContext } from "./context.ts";

/** Builds the context for one command and closes it however the command ends. */
export async function withContext<T>(options: ContextOptions, fn: (ctx: Context) => Promise<T>): Promise<T> {
  const ctx = createContext(options);
  try {
    return await fn(ctx);
  } finally {
    ctx.close();
  }
}
