// CNI spec versions: which ones ctrnet speaks, and ordering between them.

/** Oldest first. 0.1.0/0.2.0 results have `ip4`/`ip6`; 0.3.0 onwards have `interfaces` and `ips`. */
export const SPEC_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;

function parts(version: string): number[] {
  return version.split(".").map((p) => Number.parseInt(p, 10) || 0);
}

function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function atLeast(version: string, minimum: string): boolean {
  return compareVersions(version, minimum) >= 0;
}

export function isSupportedVersion(version: string): boolean {
  return (SPEC_VERSIONS as readonly string[]).includes(version);
}

/** CNI 1.1 `cniVersions`: the runtime uses the highest version it supports, else the plain `cniVersion`. */
export function chooseVersion(cniVersion: string, cniVersions: readonly string[] | undefined): string {
  const usable = (cniVersions ?? []).filter(isSupportedVersion).sort(compareVersions);
  return usable.at(-1) ?? cniVersion;
}
