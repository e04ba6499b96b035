// podman's spellings the CLI accepts beside its own: short flags together, --all/--latest and names in
// podman's CheckAllLatestAndIDFile words, run's --uts.
import { describe, expect, test } from "bun:test";
import { checkAllLatest, checkArgCount, containerArgs, exactArgs, flagTable, latestArg, maximumArgs, minimumArgs, noArgs, positionalWords, rejectUnknownOptions, takesArgs } from "../../src/cli/args.ts";
import { parseUts } from "../../src/cli/commands/run.ts";
import { explicitBooleans } from "../../src/cli/main.ts";

describe("short flags together (pflag's and citty's -dt)", () => {
  const def = { ...containerArgs, detach: { type: "boolean", alias: "d" } } as const;

  test("booleans together are known flags; the last may take a value, which the next argument is", () => {
    expect(() => rejectUnknownOptions(["-dt", "--name", "x", "id"], def)).not.toThrow();
    expect(() => rejectUnknownOptions(["-it", "id"], def)).not.toThrow();
    expect(() => rejectUnknownOptions(["-tp", "8080:80", "id"], def)).not.toThrow();
    expect(() => rejectUnknownOptions(["-tP", "id"], def)).not.toThrow();
  });

  test("an unknown letter, or one that takes a value before others, is refused naming it", () => {
    expect(() => rejectUnknownOptions(["-xt", "id"], def)).toThrow("unknown option -x in -xt");
    expect(() => rejectUnknownOptions(["-pt", "80", "id"], def)).toThrow("option -p takes a value: it cannot be followed by other flags in -pt");
  });
});

describe("--all, --latest and names (podman's CheckAllLatestAndIDFile)", () => {
  test("latestArg is -l/--latest", () => {
    expect(latestArg.latest.alias).toBe("l");
  });

  test.each([
    [[], { all: true, latest: true }, "--all and --latest cannot be used together"],
    [["c1"], { all: true }, "no arguments are needed with --all"],
    [["c1"], { latest: true }, "--latest and containers cannot be used together"],
    [[], {}, "you must provide at least one name or id"],
  ] as const)("%p with %p: %p", (names, opts, words) => {
    expect(() => checkAllLatest(names, opts)).toThrow(words);
  });

  test("valid ones pass; with ignoreArgLen (port's PORT) --latest takes an argument", () => {
    for (const [names, opts] of [[["c1"], {}], [[], { all: true }], [[], { latest: true }]] as const) expect(() => checkAllLatest(names, opts)).not.toThrow();
    expect(() => checkAllLatest(["80"], { latest: true }, true)).not.toThrow();
    expect(() => checkAllLatest(["x"], { all: true }, true)).toThrow("no arguments are needed with --all");
  });
});

describe("run --uts", () => {
  test("private (the default), host and container:ID; anything else, or --hostname outside its own, in podman's words", () => {
    expect(parseUts(undefined, undefined)).toBe("private");
    expect(parseUts("host", undefined)).toBe("host");
    expect(parseUts("container:web", undefined)).toBe("container:web");
    expect(parseUts(undefined, "box")).toBe("private");
    expect(() => parseUts("bogus", undefined)).toThrow('invalid --uts "bogus": use private, host or container:ID');
    expect(() => parseUts("container:", undefined)).toThrow("invalid --uts");
    expect(() => parseUts("host", "box")).toThrow("cannot set hostname when running in the host UTS namespace: invalid configuration");
  });
});

describe("boolean options with a value, as pflag reads them (podman's --no-hosts=false)", () => {
  const cmd = { args: { "no-hosts": { type: "boolean" }, force: { type: "boolean", alias: "f" }, name: { type: "string" } } } as never;

  test("true is the flag alone, false no flag; a string option and what follows -- are left alone", () => {
    expect(explicitBooleans(cmd, ["--no-hosts=true", "--force=false", "--name=true", "--", "--no-hosts=false"])).toEqual(["--no-hosts", "--name=true", "--", "--no-hosts=false"]);
    expect(explicitBooleans(cmd, ["--no-hosts=false", "--force=1", "--force=T"])).toEqual(["--force", "--force"]);
  });

  test("another value is pflag's error", () => {
    expect(() => explicitBooleans(cmd, ["--no-hosts=yes"])).toThrow('invalid argument "yes" for "--no-hosts" flag: strconv.ParseBool: parsing "yes": invalid syntax');
  });
});

describe("the spellings of a command's options (flagTable), read once per definition", () => {
  const def = { ...containerArgs, detach: { type: "boolean", alias: "d" }, id: { type: "positional" } } as const;

  test("every spelling, whether it takes a value; a boolean's --no- form; no positional", () => {
    const t = flagTable(def);
    expect(t.known.get("--network")).toBe(true);
    expect(t.known.get("--net")).toBe(true);
    expect(t.known.get("-p")).toBe(true);
    expect(t.known.get("--no-hosts")).toBe(false);
    expect(t.known.get("--no-no-hosts")).toBe(false);
    expect(t.known.get("-d")).toBe(false);
    expect(t.known.has("--id")).toBe(false);
    expect(t.valueFlags.has("--mac-address") && t.valueFlags.has("-p") && !t.valueFlags.has("-P")).toBe(true);
    // a boolean's long spellings only: -P is no --P
    expect([...t.booleans].sort()).toEqual(["--detach", "--interactive", "--no-hosts", "--publish-all", "--replace", "--tty"]);
    // a string option as joinNegativeValues reads it: --NAME, or any alias after one dash
    expect(t.stringOptions.get("--network")).toBe("network");
    expect(t.stringOptions.get("-net")).toBe("network");
    expect(t.stringOptions.get("--net")).toBeUndefined();
    expect(t.stringOptions.get("-p")).toBe("publish");
    expect(t.stringOptions.get("-P")).toBeUndefined();
    expect(flagTable(def)).toBe(t);
  });

  test("explicit booleans are read through the table: long spellings only, none after --", () => {
    const cmd = { args: def };
    expect(explicitBooleans(cmd, ["--replace=false", "--tty=true", "-d", "--", "--tty=false"])).toEqual(["--tty", "-d", "--", "--tty=false"]);
  });
});

describe("positional counts as podman's cobra commands declare them (Args:), in cobra's words", () => {
  const def = { ...containerArgs, force: { type: "boolean", alias: "f" }, detach: { type: "boolean", alias: "d" }, id: { type: "positional" } } as const;

  test("the positional words: not options, nor the values of those that take one (spelled apart, or last of short flags together); all after --", () => {
    expect(positionalWords(["--network", "n1", "-p", "80", "a", "--name=x", "-f", "b", "-dp", "81", "c", "--", "-x", "d"], def)).toEqual(["a", "b", "c", "-x", "d"]);
    expect(positionalWords(["-fd", "a", "-"], def)).toEqual(["a", "-"]);
  });

  test.each([
    [exactArgs(2), ["net"], "accepts 2 arg(s), received 1"],
    [exactArgs(2), ["net", "ctr", "x"], "accepts 2 arg(s), received 3"],
    [exactArgs(1), [], "accepts 1 arg(s), received 0"],
    [maximumArgs(1), ["a", "b"], "accepts at most 1 arg(s), received 2"],
    [minimumArgs(1), [], "requires at least 1 arg(s), only received 0"],
    [noArgs, ["extra"], "`ctrnet network ls` takes no arguments"],
    [{ min: 1, max: 2 }, ["a", "b", "c"], "accepts between 1 and 2 arg(s), received 3"],
  ] as const)("%p with %p: %p", (count, words, message) => {
    const cmd = takesArgs(count, {});
    expect(() => checkArgCount(cmd, def, "ctrnet network ls", ["--network", "n1", ...words])).toThrow(message);
  });

  test("a count within the rule passes; a command that declares none is not checked; an unknown option is named first, as cobra does", () => {
    expect(() => checkArgCount(takesArgs(exactArgs(2), {}), def, "ctrnet connect", ["-f", "net", "--ip", "10.0.0.2", "ctr"])).not.toThrow();
    expect(() => checkArgCount(takesArgs(minimumArgs(1), {}), def, "ctrnet network rm", ["a", "b", "c"])).not.toThrow();
    expect(() => checkArgCount({}, def, "ctrnet create", ["a", "b", "c"])).not.toThrow();
    expect(() => checkArgCount(takesArgs(exactArgs(1), {}), def, "ctrnet network exists", ["--frob"])).toThrow("unknown option --frob");
  });
});
