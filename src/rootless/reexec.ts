// Runs this ctrnet invocation again inside the rootless namespace, transparently: same arguments,
// environment, working directory and stdio; signals passed on; its exit status returned as ours.
// Bun cannot enter a user namespace itself, so the C launcher forks a child that joins and execs.
import { isSysError } from "../../ffi/errno.ts";
import { launch, type LaunchedProcess } from "../../ffi/launcher.ts";
import * as libc from "../../ffi/libc.ts";
import { ensurePause, namespaceEnv } from "./pause.ts";
import { selfCommand } from "./self.ts";
import { forwardSignals, standInStatus } from "./signals.ts";

interface Namespaces {
  user: number;
  mnt: number;
}

function openNamespaces(pid: number): Namespaces {
  const user = libc.open(`/proc/${pid}/ns/user`, libc.O_RDONLY);
  try {
    return { user, mnt: libc.open(`/proc/${pid}/ns/mnt`, libc.O_RDONLY) };
  } catch (err) {
    libc.close(user);
    throw err;
  }
}

/** Once more if the pause process went away between finding it and opening its namespaces (`ctrnet gc`). */
async function pauseNamespaces(): Promise<Namespaces> {
  try {
    return openNamespaces(await ensurePause());
  } catch (err) {
    if (!isSysError(err, "ENOENT")) throw err;
    return openNamespaces(await ensurePause());
  }
}

/** argv: the arguments this process got (without the program), run again unchanged. */
export async function runInRootlessNamespace(argv: string[]): Promise<number> {
  const ns = await pauseNamespaces();
  let child: LaunchedProcess | undefined;
  const stopForwarding = forwardSignals(() => child);
  try {
    try {
      // fds 0-2 pass through as they are (even closed ones); setns into a mount namespace moves the
      // child to its root, hence cwd. SIGKILL with us, as the command would have died with us.
      child = launch({
        argv: [...selfCommand(), ...argv],
        env: namespaceEnv(),
        cwd: process.cwd(),
        join: [
          { fd: ns.user, type: "user" },
          { fd: ns.mnt, type: "mnt" },
        ],
        pdeathsig: "SIGKILL",
      });
    } finally {
      libc.close(ns.user);
      libc.close(ns.mnt);
    }
    return standInStatus(await child.exited);
  } finally {
    stopForwarding();
  }
}
