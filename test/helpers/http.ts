// Serving and fetching a page through a published port, for the tests of both the root and the rootless
// slirp4netns paths: busybox httpd inside, curl outside (busybox wget segfaults on the test machine).

/** httpd on each port inside, until the file `done` exists; they are the shell's children, killed by it. */
export function httpdUntil(ports: number[], done: string, www: string): string[] {
  const servers = ports.map((p) => `busybox httpd -f -p ${p} -h ${www} & pids="$pids $!"`).join("; ");
  return ["sh", "-c", `${servers}; until [ -e ${done} ]; do sleep 0.05; done; kill $pids`];
}

/**
 * The first of `count` consecutive 127.0.0.1 TCP ports that are free right now, below the ephemeral range
 * (32768 and up), from which any client's connection could take one before the test binds it.
 */
export function freePorts(count: number): number {
  for (;;) {
    const base = 10000 + Math.floor(Math.random() * 20000);
    const probes: { stop(closeActive?: boolean): void }[] = [];
    try {
      for (let i = 0; i < count; i++) probes.push(Bun.listen({ hostname: "127.0.0.1", port: base + i, socket: { data() {} } }));
      return base;
    } catch {
      // taken: another base
    } finally {
      for (const p of probes) p.stop(true);
    }
  }
}

/** host: an address as a URL holds it (`[::1]` for IPv6). */
export async function curl(port: number, host = "127.0.0.1"): Promise<{ ok: boolean; body: string }> {
  const child = Bun.spawn(["curl", "-s", "-g", "-m", "2", `http://${host}:${port}/`], { stdout: "pipe", stderr: "ignore" });
  const body = await new Response(child.stdout).text();
  return { ok: (await child.exited) === 0, body };
}

/** Until the server answers; a bound for a broken run, not a timing assertion. */
export async function untilServed(port: number, running: { exitCode: number | null }, host = "127.0.0.1"): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await curl(port, host);
    if (r.ok) return r.body;
    if (running.exitCode !== null || Date.now() > deadline) throw new Error(`nothing served on ${host}:${port}`);
    await Bun.sleep(50);
  }
}
