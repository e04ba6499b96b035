// Hidden `ctrnet _supervise`: restarts the helpers of containers that outlive the command that made them
// (lifecycle/supervisor.ts). Started by that command with its directories in the environment; stdio is
// /dev/null, so what it logs is for a debugging run by hand. `--held ID:COUNT,…`: from fd 3 on, in that
// order, the sockets holding each container's host ports, bound by the command that started it (port-holder.ts).
import { defineCommand } from "citty";
import { createContext } from "../../lifecycle/index.ts";
import { parseHandedPorts } from "../../lifecycle/port-holder.ts";
import { runSupervisor } from "../../lifecycle/supervisor-loop.ts";

export default defineCommand({
  meta: { name: "_supervise", description: "Restarts the helpers of created containers when they die (internal)" },
  args: {
    held: { type: "string", description: "ID:COUNT,…: the containers' host ports, inherited from fd 3 on" },
  },
  async run({ args }) {
    // its own session keeps terminals from sending these; SIGTERM (from rm and gc) keeps its default action
    for (const signal of ["SIGINT", "SIGHUP"] as const) process.on(signal, () => {});
    const handed = args.held ? parseHandedPorts(String(args.held)) : [];
    const ctx = createContext();
    try {
      await runSupervisor(ctx, handed);
    } finally {
      ctx.close();
    }
  },
});
