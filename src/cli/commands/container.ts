// podman's `container` group (`podman container inspect`, `container port`, …): the same commands as
// ctrnet's top-level ones, under the names podman's tests call them by. Hidden from help and completion.
import { type CommandDef, defineCommand } from "citty";

type Lazy = () => Promise<CommandDef<any>>;
const lazy = (load: () => Promise<{ default: CommandDef<any> }>): Lazy => () => load().then((m) => m.default);

const subCommands: Record<string, Lazy> = {
  create: lazy(() => import("./create.ts")),
  run: lazy(() => import("./run.ts")),
  rm: lazy(() => import("./rm.ts")),
  remove: lazy(() => import("./rm.ts")),
  inspect: lazy(() => import("./inspect.ts")),
  port: lazy(() => import("./port.ts")),
  ls: lazy(() => import("./ls.ts")),
  list: lazy(() => import("./ls.ts")),
  ps: lazy(() => import("./ls.ts")),
  stats: lazy(() => import("./stats.ts")),
};

export default defineCommand({
  meta: { name: "container", description: "podman's container group: create, run, rm, inspect, port, ls, stats" },
  subCommands,
});
