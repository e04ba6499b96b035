// The project's test command (`npm test`). Builds dist/ctrnet, then runs each suite and prints one
// closing line `N passed, N failed` summed over the suites.
//   unit:        no privileges, run as is
//   integration: root only, inside a private network + mount namespace with a fresh /run, so bridges,
//                firewall rules, namespaces and mounts never reach the machine's own network or files
//   rootless:    root only (it sets up the unprivileged test user), in the same private namespaces; the
//                tests run dist/ctrnet as that user, whose /run/user/UID then exists only in the fresh /run
//   integration-cni, rootless-cni: the files of those suites that run containers on bridge networks, again
//                with CTRNET_TEST_NETWORK_PLUGIN=cni: their networks are the reference plugin chain instead of
//                ctrnet's own plugin, the default (test/helpers/network-plugin.ts)
// Usage: bun scripts/test.ts [unit|integration|rootless|integration-cni|rootless-cni ...] [--only SUBSTRING ...] [-- extra bun test args]
//   --only: run just the test files whose path contains one of the substrings
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
process.chdir(root);

const argv = process.argv.slice(2);
const dash = argv.indexOf("--");
const own = dash === -1 ? argv : argv.slice(0, dash);
const only: string[] = [];
const wanted = own.filter((arg, i) => {
  if (arg === "--only") return false;
  if (own[i - 1] === "--only") {
    only.push(arg);
    return false;
  }
  return true;
});
const extra = dash === -1 ? [] : argv.slice(dash + 1);
const isRoot = process.getuid?.() === 0;
// Generous: integration tests drive real plugins and helpers on a 2-core machine that may be busy.
const TEST_TIMEOUT_MS = "60000";

interface Suite {
  name: string;
  dir: string;
  /** Only the files whose name starts with one of these. */
  files?: readonly string[];
  command: (files: string[]) => string[];
  env?: Record<string, string>;
  skip?: string;
}

// Inside the private namespaces: loopback up, and a fresh tmpfs over every default path ctrnet or a CNI
// plugin writes (/run: netns, state, xtables lock; /etc/cni/net.d; /var/lib/cni), so a test that forgets
// an override still cannot touch the machine's own files. A directory made for the mount is removed after.
const privateHost = `
  made=""
  for d in /etc/cni /var/lib/cni; do [ -d "$d" ] || { mkdir -p "$d" && made="$made $d"; }; done
  mount -t tmpfs -o mode=0755 tmpfs /run && mount -t tmpfs -o mode=0755 tmpfs /etc/cni &&
    mount -t tmpfs -o mode=0755 tmpfs /var/lib/cni && ip link set lo up && "$@"
  rc=$?
  for d in $made; do umount "$d" && rmdir "$d"; done
  exit $rc`;

const privately = (files: string[]): string[] => [
  "unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", privateHost, "sh", "bun", "test", "--timeout", TEST_TIMEOUT_MS, ...files, ...extra,
];

const suites: Suite[] = [
  { name: "unit", dir: "test/unit", command: (f) => ["bun", "test", "--timeout", TEST_TIMEOUT_MS, ...f, ...extra] },
  {
    name: "integration",
    dir: "test/integration",
    command: privately,
    env: { CTRNET_TEST_PRIVATE: "1" },
    skip: isRoot ? undefined : "needs root",
  },
  {
    name: "rootless",
    dir: "test/rootless",
    command: privately,
    env: { CTRNET_TEST_PRIVATE: "1" },
    skip: isRoot ? undefined : "needs root to set up the unprivileged test user",
  },
  {
    name: "integration-cni",
    dir: "test/integration",
    files: ["lifecycle-connect", "lifecycle-errors", "lifecycle-modes", "lifecycle-ports", "lifecycle-robustness", "hook-", "run.", "network-cli", "podman-parity7"],
    command: privately,
    env: { CTRNET_TEST_PRIVATE: "1", CTRNET_TEST_NETWORK_PLUGIN: "cni" },
    skip: isRoot ? undefined : "needs root",
  },
  {
    name: "rootless-cni",
    dir: "test/rootless",
    files: ["rootless-bridge"],
    command: privately,
    env: { CTRNET_TEST_PRIVATE: "1", CTRNET_TEST_NETWORK_PLUGIN: "cni" },
    skip: isRoot ? undefined : "needs root to set up the unprivileged test user",
  },
];

function testFiles(dir: string, prefixes?: readonly string[]): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".test.ts"))
    .filter((f) => prefixes === undefined || prefixes.some((p) => f.startsWith(p)))
    .sort()
    .map((f) => `./${dir}/${f}`)
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
}

async function pump(stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream, keep: string[]): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    sink.write(chunk);
    keep.push(decoder.decode(chunk, { stream: true }));
  }
}

function lastCount(text: string, word: string): number {
  const all = [...text.matchAll(new RegExp(`^\\s*(\\d+) ${word}s?$`, "gm"))];
  return all.length ? Number(all[all.length - 1]![1]) : 0;
}

const build = Bun.spawnSync(["bun", "build.ts"], { stdout: "inherit", stderr: "inherit" });
if (build.exitCode !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// Bun's FFI compiler keeps its headers in $BUN_TMPDIR/bun-cc-UID (/tmp by default): the suites' processes,
// and the OCI hooks they set up (ctrnet hook config passes BUN_TMPDIR on), keep them here, gone with the run.
const bunTmp = mkdtempSync(join(tmpdir(), "ctrnet-test-bun-"));
process.on("exit", () => rmSync(bunTmp, { recursive: true, force: true }));

/** Each failed test's line with what bun printed for it (the lines since the test before it), so a run's
 * tail, which is all some CI logs keep, names what failed. Once each: bun lists the failed tests again
 * under "N tests failed:" at its end, with nothing of theirs before them. */
function failures(text: string): string[] {
  const lines = text.split("\n");
  const out: string[] = [];
  const seen = new Set<string>();
  let start = 0;
  lines.forEach((line, i) => {
    if (!/^\((pass|fail|skip|todo)\) /.test(line)) return;
    if (line.startsWith("(fail) ") && !seen.has(line)) {
      seen.add(line);
      out.push(lines.slice(Math.max(start, i - 40), i + 1).join("\n"));
    }
    start = i + 1;
  });
  return out;
}

let passed = 0;
let failed = 0;
const failedTests: string[] = [];
for (const suite of suites) {
  if (wanted.length && !wanted.includes(suite.name)) continue;
  const files = testFiles(suite.dir, suite.files);
  if (suite.skip || files.length === 0) {
    console.error(`== ${suite.name}: skipped (${suite.skip ?? "no tests"})`);
    continue;
  }
  console.error(`== ${suite.name}: ${files.length} files`);
  const child = Bun.spawn(suite.command(files), {
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
    env: { ...process.env, BUN_TMPDIR: bunTmp, ...suite.env },
  });
  const out: string[] = [];
  await Promise.all([pump(child.stdout, process.stdout, out), pump(child.stderr, process.stderr, out), child.exited]);
  const text = out.join("");
  const p = lastCount(text, "pass");
  // An error outside any test (a crash in a hook, an unhandled rejection) counts as a failure too.
  let f = lastCount(text, "fail") + lastCount(text, "error");
  if (child.exitCode !== 0 && f === 0) f = 1;
  console.error(`== ${suite.name}: ${p} passed, ${f} failed`);
  for (const block of failures(text)) failedTests.push(`-- ${suite.name}\n${block}`);
  passed += p;
  failed += f;
}

if (failedTests.length) console.error(`== what failed, again:\n${failedTests.join("\n")}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
