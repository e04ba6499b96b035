// containerd 1.6 (Debian's) with ctrnet's plugin: `ctr run --cni` loads the first conflist of
// /etc/cni/net.d (ctrnet's, written by `ctrnet cni conflist`) and finds the plugin in /opt/cni/bin (where
// `ctrnet cni install` put it: a tmpfs over /opt in the test's private mount namespace). A busybox image is
// built here as an OCI archive and imported, so no registry is needed. The container gets its address,
// serves, reaches its gateway; `ctr task kill` ends it, ctr's CNI teardown runs, and `ctr container rm`
// leaves no lease, link or record.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { hostVeths } from "./cni-helpers.ts";
import { hideHybridCgroup2 } from "./hook-helpers.ts";
import { fetchText, hex, Installation, privileged, run } from "./lifecycle-helpers.ts";

const runnable = privileged && Bun.which("containerd") !== null && Bun.which("ctr") !== null;
const IMAGE = "docker.io/library/ctrnet-busybox:test";

function sha256(path: string): { digest: string; size: number } {
  const bytes = require("node:fs").readFileSync(path) as Buffer;
  return { digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, size: bytes.length };
}

/** An OCI image archive of one layer: busybox-static, a few applets and a page to serve. */
function busyboxImage(dir: string, body: string): string {
  const rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "bin"), { recursive: true });
  mkdirSync(join(rootfs, "www"));
  copyFileSync("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const applet of ["sh", "httpd", "ip", "ping"]) symlinkSync("busybox", join(rootfs, "bin", applet));
  writeFileSync(join(rootfs, "www/index.html"), body);
  const layout = join(dir, "layout");
  const blobs = join(layout, "blobs/sha256");
  mkdirSync(blobs, { recursive: true });
  const blob = (path: string) => {
    const d = sha256(path);
    copyFileSync(path, join(blobs, d.digest.slice(7)));
    return d;
  };
  const layerTar = join(dir, "layer.tar");
  expect(run(["tar", "-C", rootfs, "-cf", layerTar, "."]).ok).toBe(true);
  const layer = blob(layerTar);
  const configPath = join(dir, "config.json");
  writeFileSync(configPath, JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: [layer.digest] } }));
  const config = blob(configPath);
  const manifestPath = join(dir, "manifest.json");
  writeFileSync(
    manifestPath,
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
    }),
  );
  const manifest = blob(manifestPath);
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest, annotations: { "org.opencontainers.image.ref.name": IMAGE } }],
    }),
  );
  const archive = join(dir, "image.tar");
  expect(run(["tar", "-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs"]).ok).toBe(true);
  return archive;
}

describe.skipIf(!runnable)("containerd's ctr run --cni on ctrnet's plugin", () => {
  let inst: Installation;
  let dir: string;
  let containerd: Subprocess;
  let restoreCgroups: () => void;
  let socket: string;
  const network = `ctd-${hex(3)}`;
  const bridge = `cn-${network}`.slice(0, 15);
  const ipamDir = () => join(dir, "ipam");
  const ctr = (args: string[]) => run(["ctr", "-a", socket, ...args]);

  beforeAll(async () => {
    restoreCgroups = hideHybridCgroup2();
    inst = new Installation();
    dir = mkdtempSync(join(tmpdir(), "ctrnet-containerd-"));
    // /opt/cni/bin and /etc/cni/net.d are ctr's fixed paths: a tmpfs over /opt keeps the machine's own
    expect(run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/opt"]).ok).toBe(true);
    inst.ok(["cni", "install", "--dir", "/opt/cni/bin"]);
    mkdirSync("/etc/cni/net.d", { recursive: true });
    writeFileSync(`/etc/cni/net.d/00-${network}.conflist`, inst.ok(["cni", "conflist", network, "--subnet", "10.46.9.0/24", "--ipam-data-dir", ipamDir()]));
    socket = join(dir, "containerd.sock");
    const config = join(dir, "containerd.toml");
    writeFileSync(
      config,
      [
        "version = 2",
        `root = "${join(dir, "root")}"`,
        `state = "/run/ctrnet-test-containerd"`,
        `disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]`,
        "[grpc]",
        `  address = "${socket}"`,
        "",
      ].join("\n"),
    );
    containerd = Bun.spawn(["containerd", "--config", config], { stdout: "ignore", stderr: "ignore" });
    for (let i = 0; i < 100 && !ctr(["version"]).ok; i++) await Bun.sleep(50);
    expect(ctr(["images", "import", busyboxImage(dir, "served from containerd")]).ok).toBe(true);
  });

  afterEach(() => {
    // the network's bridge and ctrnet's table outlive its containers, as a network's do
    run(["ip", "link", "del", bridge]);
    run(["nft", "delete", "table", "inet", "ctrnet"]);
  });

  afterAll(async () => {
    containerd?.kill("SIGTERM");
    await containerd?.exited;
    rmSync(`/etc/cni/net.d/00-${network}.conflist`, { force: true });
    run(["umount", "/opt"]);
    rmSync("/run/ctrnet-test-containerd", { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    inst?.dispose();
    restoreCgroups?.();
  });

  test("the container gets its address, serves and reaches its gateway; task kill and container rm leave nothing", async () => {
    const id = `c${hex(4)}`;
    const runner = Bun.spawn(["ctr", "-a", socket, "run", "--snapshotter", "native", "--cni", IMAGE, id, "/bin/httpd", "-f", "-p", "80", "-h", "/www"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    let address = "";
    for (let i = 0; i < 200 && !address; i++) {
      const leases = existsSync(join(ipamDir(), network)) ? readdirSync(join(ipamDir(), network)).filter((f) => /^\d/.test(f)) : [];
      address = leases[0] ?? "";
      if (!address) await Bun.sleep(25);
    }
    expect(address).toStartWith("10.46.9.");
    let served: string | null = null;
    for (let i = 0; i < 100 && served === null; i++) {
      served = await fetchText(`http://${address}/index.html`, 500);
      if (served === null) await Bun.sleep(50);
    }
    expect(served).toBe("served from containerd");
    // the probe's output goes to a file the container's httpd serves: ctr's exec now and then loses a short
    // process's stdout (containerd #5741; a loaded run here saw exit 0 with nothing printed)
    const inside = ctr(["tasks", "exec", "--exec-id", "probe", id, "/bin/sh", "-c", "{ ip -4 -o addr show eth0; ping -c1 -W2 10.46.9.1; } >/www/probe 2>&1"]);
    expect(inside.ok).toBe(true);
    const probe = await fetchText(`http://${address}/probe`);
    expect(probe).toContain(`inet ${address}/24`);
    expect(probe).toContain("1 packets received");
    expect(readdirSync("/run/ctrnet/native")).toHaveLength(1);

    expect(ctr(["tasks", "kill", "-s", "SIGKILL", id]).ok).toBe(true);
    await runner.exited;
    expect(ctr(["containers", "rm", id]).ok).toBe(true);
    expect(readdirSync(join(ipamDir(), network)).filter((f) => /^\d/.test(f))).toEqual([]);
    expect(hostVeths()).toEqual([]);
    expect(readdirSync("/run/ctrnet/native")).toEqual([]);
    expect(await fetchText(`http://${address}/index.html`, 500)).toBeNull();
  }, 90_000);
});
