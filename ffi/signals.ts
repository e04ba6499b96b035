// Linux's signal numbers (the generic ones x86-64 and arm64 share), for an exit status of 128 + the number
// and for kill(2). Not node:os's constants.signals: importing node:os cost every create about 0.35 ms.

export const SIGNAL_NUMBERS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
} as const;

export type SignalName = keyof typeof SIGNAL_NUMBERS;

/** The number of a signal Node names (NodeJS.Signals), as node:os's constants.signals gives it (undefined for SIGBREAK and SIGLOST, which Linux lacks). */
export function signalNumber(signal: NodeJS.Signals): number {
  return (SIGNAL_NUMBERS as Record<string, number>)[signal]!;
}

/** A shell's view of a process killed by a signal: 128 + its number. */
export function signalExitStatus(signal: NodeJS.Signals | number): number {
  return 128 + (typeof signal === "number" ? signal : signalNumber(signal));
}
