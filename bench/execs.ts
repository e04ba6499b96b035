// The programs one `ctrnet create` and one `ctrnet rm` on a native network start: `strace -f -e trace=execve`
// of each, every process it starts followed. A native attach and detach exec nothing but ctrnet itself.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { ctrnetHome } from "./ctrnet.ts";
import { run } from "./processes.ts";

export interface ExecTrace {
  /** The command as run under strace, and the execve lines of the trace (pids dropped). */
  runs: Array<{ command: string; execs: string[] }>;
}

export function traceExecs(o: { workDir: string; tag: string }): ExecTrace {
  const home = ctrnetHome(`${o.workDir}/ctrnet-execs`);
  const network = `traced-${o.tag}`;
  const conf = home.run(["cni", "conflist", network, "--subnet", "10.93.0.0/24", "--ipam-data-dir", `${home.env.CTRNET_CNI_CACHE_DIR}/networks`]).stdout;
  mkdirSync(home.env.CTRNET_CNI_CONFIG_DIR!, { recursive: true });
  writeFileSync(`${home.env.CTRNET_CNI_CONFIG_DIR}/${network}.conflist`, conf);
  const id = `traced-${o.tag}`;
  const runs: ExecTrace["runs"] = [];
  // The first create with published ports of a state root starts the supervisor that holds host ports for
  // created containers (as podman's conmon does), once; a container made first has it running, so the trace
  // shows what every later create and rm start (and strace -f does not wait on the long-lived supervisor).
  const warm = `warm-${o.tag}`;
  home.run(["create", "--network", network, "-p", "127.0.0.1:18091:80", warm]);
  try {
    trace(home, o.workDir, runs, [["create", "--network", network, "-p", "127.0.0.1:18090:80", id], ["rm", id]]);
  } finally {
    home.run(["rm", "-f", warm]);
  }
  return { runs };
}

function trace(home: ReturnType<typeof ctrnetHome>, workDir: string, runs: ExecTrace["runs"], commands: string[][]): void {
  for (const args of commands) {
    const out = `${workDir}/strace-${args[0]}`;
    run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", out, home.binary, ...args], { env: home.env });
    const execs = readFileSync(out, "utf8")
      .split("\n")
      .filter((l) => l.includes("execve("))
      .map((l) => l.replace(/^\d+\s+/, "").replace(/, 0x[0-9a-f]+ \/\* \d+ vars \*\//, ", … /* env */"));
    runs.push({ command: `strace -f -qq -e trace=execve ctrnet ${args.join(" ")}`, execs });
  }
}

export function execsMarkdown(t: ExecTrace): string {
  return [
    "Programs started by one create and one rm on a native network (every process followed; lines are strace's, pids dropped; " +
      "a container made before holds the supervisor that the first create with ports of a state root starts, once):",
    "",
    ...t.runs.flatMap((r) => [`\`${r.command}\` (${r.execs.length} execve):`, "", "```", ...r.execs, "```", ""]),
  ].join("\n");
}
