// The JSON files beside the state database are read through schemas: a damaged or foreign one is no record.
import { describe, expect, test } from "bun:test";
import { AdoptedProcessFile, HelperPidsFile, readJsonFile, RootlessNetnsStateFile, WayOutProcessFile } from "../../src/schema/state-files.ts";

const read = (text: string) => () => text;
const missing = () => {
  throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
};

describe("state files", () => {
  test("a helper file with both helpers reads back; a pid that is no pid or a missing start time does not", () => {
    const both = { slirp4netns: { pid: 10, startTime: "123" }, portForwarder: { pid: 11, startTime: "124" } };
    expect(readJsonFile(read(JSON.stringify(both)), HelperPidsFile)).toEqual(both);
    expect(readJsonFile(read('{"slirp4netns":{"pid":0,"startTime":"1"}}'), HelperPidsFile)).toBeUndefined();
    expect(readJsonFile(read('{"portForwarder":{"pid":12}}'), HelperPidsFile)).toBeUndefined();
    expect(readJsonFile(read("{"), HelperPidsFile)).toBeUndefined();
    expect(readJsonFile(missing, HelperPidsFile)).toBeUndefined();
  });

  test("a supervised container's helper file keeps its supervisor's namespace and each helper's restarts", () => {
    const supervised = {
      slirp4netns: { pid: 10, startTime: "123" },
      supervisedIn: 4026531837,
      restarts: { slirp4netns: { count: 2, lastAt: 1_700_000_000_000 }, portForwarder: { count: 0, error: "port forwarder: address in use" } },
    };
    expect(readJsonFile(read(JSON.stringify(supervised)), HelperPidsFile)).toEqual(supervised);
    expect(readJsonFile(read('{"supervisedIn":0}'), HelperPidsFile)).toBeUndefined();
    expect(readJsonFile(read('{"restarts":{"slirp4netns":{"count":-1}}}'), HelperPidsFile)).toBeUndefined();
  });

  test("an adopted process of an older ctrnet has no start time", () => {
    expect(readJsonFile(read('{"pid":5,"netnsInode":4026531993}'), AdoptedProcessFile)).toEqual({ pid: 5, netnsInode: 4026531993 });
    expect(readJsonFile(read('{"pid":"5","netnsInode":1}'), AdoptedProcessFile)).toBeUndefined();
  });

  test("the rootless netns's state counts only once its way out was ready; its process is known from the start", () => {
    const early = '{"slirp4netns":{"pid":7,"startTime":"99"}}';
    expect(readJsonFile(read(early), RootlessNetnsStateFile)).toBeUndefined();
    expect(readJsonFile(read(early), WayOutProcessFile)).toEqual({ slirp4netns: { pid: 7, startTime: "99" } });
    const ready = { slirp4netns: { pid: 7, startTime: "99" }, ip: "10.0.2.100", prefixLength: 24, gateway: "10.0.2.2", dns: "10.0.2.3" };
    expect(readJsonFile(read(JSON.stringify(ready)), RootlessNetnsStateFile)).toEqual(ready);
  });
});
