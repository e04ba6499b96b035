// nf_tables registers: 0 holds the verdict; 1-4 are the 16-byte registers; 8-23 are the same space as
// 4-byte registers, which concatenations use so that each member lands right after the one before.
export const REG_VERDICT = 0;
export const REG_1 = 1;

/** The 4-byte register n (0-15): 8 + n. reg32(0) overlaps the first bytes of REG_1. */
export function reg32(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 15) throw new RangeError(`no 32-bit register ${n}`);
  return 8 + n;
}
