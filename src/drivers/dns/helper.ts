// The life of `ctrnet _dns --config FILE`: serve the file, re-read it on SIGHUP, stop on SIGTERM or SIGINT.
// After each (re)load it writes the status file, which is how a writer of the configuration knows it applies.
import { rmSync } from "../../../ffi/fs.ts";
import { CtrnetError } from "../../errors.ts";
import { writeFileAtomic } from "../../state/atomic-file.ts";
import { dnsMemberKeys, readDnsConfig, readDnsMember, statusPathOf } from "./config.ts";
import { type Applied, DnsServer } from "./server.ts";
import type { DnsConfig, DnsMember, DnsStatus } from "../../schema/dns.ts";
import { restorePriority } from "../../process/priority.ts";

export interface HelperLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

function load(path: string) {
  const config = readDnsConfig(path);
  if (!config) throw new CtrnetError(`${path}: no such file`);
  return config;
}

/** A member file that cannot be read is left out (its container's names do not resolve), said in the log. */
function member(path: string, key: string, log: HelperLog): DnsMember | undefined {
  try {
    return readDnsMember(path, key);
  } catch (err) {
    log.error(`${(err as Error).message}: left out`);
    return undefined;
  }
}

function allMembers(path: string, log: HelperLog): [string, DnsMember][] {
  return dnsMemberKeys(path).flatMap((key) => {
    const m = member(path, key, log);
    return m ? [[key, m] as [string, DnsMember]] : [];
  });
}

/** What two configurations say besides their containers' members: when the same, a reload may read only the changed members. */
function sameFrame(a: DnsConfig, b: DnsConfig): boolean {
  const { generation: _a, changed: _ac, ...ra } = a;
  const { generation: _b, changed: _bc, ...rb } = b;
  return Bun.deepEquals(ra, rb);
}

function writeStatus(path: string, generation: number, applied: Applied): void {
  const status: DnsStatus = { generation, ...applied };
  writeFileAtomic(statusPathOf(path), `${JSON.stringify(status)}\n`);
}

/** Between tries of the gateways it could not listen on yet, growing to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * Resolves once the server has stopped on a signal. A bad file, or no gateway at all it can listen on at
 * start-up (when the file names some), throws. A gateway it cannot listen on yet (an IPv6 address still under
 * duplicate address detection) is tried again, and the status file says so meanwhile. The signal handlers
 * are in place before the first status is written: whoever waits for it may send SIGHUP at once.
 */
export async function runDnsHelper(configPath: string, log: HelperLog): Promise<void> {
  const server = new DnsServer();
  const first = load(configPath);
  let generation = first.generation;
  let current = first;
  // reloads and retries run one after the other, never interleaved
  let reloading: Promise<void> = Promise.resolve();
  let retry: Timer | undefined;
  let stopped = false;
  let resolveStopped: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  // Signal handlers do not keep the event loop alive: with no network to listen on yet (the first
  // container's bridge is still being made), this does, until the stop.
  const alive = setInterval(() => {}, 1 << 30);

  const scheduleRetry = (delay = RETRY_FIRST_MS) => {
    clearTimeout(retry);
    if (stopped || !server.waiting) return;
    retry = setTimeout(() => {
      reloading = reloading.then(async () => {
        const now = await server.listenPending();
        writeStatus(configPath, generation, now);
        if (now.errors.length === 0) log.info(`now listening on ${now.listening.join(", ")}`);
        scheduleRetry(Math.min(delay * 2, RETRY_MAX_MS));
      });
    }, delay);
  };
  const reload = async () => {
    try {
      const config = load(configPath);
      // Only the members named changed since the generation it serves, when nothing else changed; anything
      // else (a generation skipped, a reload that failed, a first write) is read whole.
      const result =
        config.changed !== undefined && config.generation === generation + 1 && sameFrame(current, config)
          ? await server.update(config, config.changed.map((key) => [key, member(configPath, key, log)]))
          : await server.apply(config, allMembers(configPath, log));
      current = config;
      for (const e of result.errors) log.warn(e);
      generation = config.generation;
      writeStatus(configPath, generation, result);
      scheduleRetry();
      log.info(`reloaded ${configPath} (generation ${config.generation})`);
    } catch (err) {
      log.error(`reload of ${configPath} failed, still serving the previous configuration: ${(err as Error).message}`);
    }
  };
  const onHangup = () => {
    reloading = reloading.then(reload);
  };
  const onStop = () => {
    process.off("SIGHUP", onHangup);
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    stopped = true;
    clearTimeout(retry);
    clearInterval(alive);
    void reloading.then(() => {
      server.stop();
      rmSync(statusPathOf(configPath), { force: true });
      resolveStopped();
    });
  };
  process.on("SIGHUP", onHangup);
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);

  const starting = (async () => {
    const applied = await server.apply(first, allMembers(configPath, log));
    if (applied.listening.length === 0 && applied.errors.length > 0) throw new CtrnetError(applied.errors.join("; "));
    // started niced (start.ts asks, main.ts does it), so that its start-up yielded to the attach that started it;
    // the normal priority back before the status file says it serves, which its starter waits for
    restorePriority();
    writeStatus(configPath, generation, applied);
    log.info(`serving ${configPath} (generation ${first.generation}) on ${applied.listening.join(", ") || "no address"}`);
    scheduleRetry();
  })();
  reloading = starting.catch(() => {});
  try {
    await starting;
  } catch (err) {
    process.off("SIGHUP", onHangup);
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    clearInterval(alive);
    server.stop();
    throw err;
  }
  await done;
}
