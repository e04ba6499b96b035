import { describe, expect, test } from "bun:test";
import { matchesContainer, parseContainerFilters } from "../../src/container/filters.ts";
import { newContainerRecord } from "../../src/container/attachments.ts";

const rec = (id: string, name: string | null, networks: string[], mode?: { kind: "container"; id: string }) =>
  newContainerRecord({ id, name, mode: mode ?? { kind: "bridge" }, netns: null, networks: networks.map((network) => ({ network, aliases: [] })) });

describe("ls --filter (podman's ps filters)", () => {
  test("id by prefix, name by regular expression, network by name or container:ID; one key's values OR, keys AND", () => {
    const web = rec("0123abcd", "web-1", ["n1", "n2"]);
    const db = rec("4567ef01", "db", ["n2"]);
    const side = rec("89ab", "side", [], { kind: "container", id: "0123abcd" });
    const pick = (items: string[], networks: string[] = [], sharing: string[] = []) =>
      [web, db, side].filter((r) => matchesContainer(r, parseContainerFilters(items), { networks, sharing })).map((r) => r.id);
    expect(pick(["id=0123"])).toEqual(["0123abcd"]);
    expect(pick(["id=0123", "id=4567"])).toEqual(["0123abcd", "4567ef01"]);
    expect(pick(["name=^web"])).toEqual(["0123abcd"]);
    expect(pick(["network=n1"], ["n1"])).toEqual(["0123abcd"]);
    expect(pick(["network=n2", "name=db"], ["n2"])).toEqual(["4567ef01"]);
    expect(pick(["network=container:web"], [], ["0123abcd"])).toEqual(["89ab"]);
    // a network no container is on, or none at all, matches nothing
    expect(pick(["network=gone"], [])).toEqual([]);
  });

  test("an unknown key or a bad regular expression is refused in one line", () => {
    expect(() => parseContainerFilters(["status=running"])).toThrow('invalid filter "status": use id=…, name=…, network=…');
    expect(() => parseContainerFilters(["name"])).toThrow('invalid filter "name"');
    expect(() => parseContainerFilters(["name=("])).toThrow('invalid name filter "(": not a regular expression');
  });
});
