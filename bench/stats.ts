// Order statistics and number formats shared by the bench sections. Medians and p95 rather than means: other
// work on the machine adds a long tail that a mean would smear into every figure.

function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

export function median(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN;
}

/** Nearest-rank 95th percentile: a value that was actually measured. */
export function p95(xs: readonly number[]): number {
  const s = sorted(xs);
  return s.length ? s[Math.ceil(0.95 * s.length) - 1]! : NaN;
}

export function max(xs: readonly number[]): number {
  return xs.length ? Math.max(...xs) : NaN;
}

/** `a / b` as `1.23×`; above 1 means `a` is larger (slower, when the figures are times). */
export function ratio(a: number, b: number): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : "–";
}

export function fixed(x: number, digits: number): string {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

export const ms = (x: number): string => fixed(x, 1);
export const mib = (bytes: number): string => fixed(bytes / 1024 / 1024, 1);
