// The signal table create and the supervisor use in place of node:os's constants.signals.
import { expect, test } from "bun:test";
import { constants } from "node:os";
import { SIGNAL_NUMBERS, signalNumber } from "../../ffi/signals.ts";

test("every signal number is node:os's on this machine, and none of Linux's is missing", () => {
  expect(SIGNAL_NUMBERS).toEqual(constants.signals as unknown as typeof SIGNAL_NUMBERS);
  expect(signalNumber("SIGTERM")).toBe(15);
  expect(signalNumber("SIGKILL")).toBe(9);
  expect(signalNumber("SIGHUP")).toBe(1);
});
