// Hidden `ctrnet _hook-wait PATH -- HOOK ARGV…`: the waiter a rootless createRuntime leaves for crun's
// createContainer hook (see hook/rendezvous.ts). fd 3 listens at PATH; the OCI state is on stdin.
import { defineCommand } from "citty";
import { UsageError } from "../../errors.ts";
import { parseOciState, readStateText } from "../../hook/input.ts";
import { runWaiter } from "../../hook/rendezvous.ts";

export default defineCommand({
  meta: { name: "_hook-wait", description: "Waits for a container's createContainer hook (internal)" },
  async run({ rawArgs }) {
    const [path, separator, ...argv] = rawArgs;
    if (path === undefined || separator !== "--" || argv.length === 0) throw new UsageError("usage: ctrnet _hook-wait PATH -- HOOK ARGV…");
    const stateText = await readStateText();
    return await runWaiter(path, argv, parseOciState(stateText), stateText);
  },
});
