// Hidden `ctrnet _supervise`: restarts the helpers of containers that outlive the command that made them
// (lifecycle/supervisor.ts). Started by that command with its directories in the environment; stdio is
// /dev/null, so what it logs is for a debugging run by hand.
import { defineCommand } from "citty";
import { createContext } from "../../lifecycle/index.ts";
import { runSupervisor } from "../../lifecycle/supervisor.ts";

export default defineCommand({
  meta: { name: "_supervise", description: "Restarts the helpers of created containers when they die (internal)" },
  async run() {
    // its own session keeps terminals from sending these; SIGTERM (from rm and gc) keeps its default action
    for (const signal of ["SIGINT", "SIGHUP"] as const) process.on(signal, () => {});
    const ctx = createContext();
    try {
      await runSupervisor(ctx);
    } finally {
      ctx.close();
    }
  },
});
