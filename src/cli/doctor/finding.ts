// One result of `ctrnet doctor`: what was checked, what was found, and for a problem one line of what to do.
export type Status = "ok" | "problem" | "info";

export interface Finding {
  check: string;
  status: Status;
  detail: string;
  fix?: string;
}

export const ok = (check: string, detail: string): Finding => ({ check, status: "ok", detail });
export const info = (check: string, detail: string): Finding => ({ check, status: "info", detail });
export const problem = (check: string, detail: string, fix: string): Finding => ({ check, status: "problem", detail, fix });
