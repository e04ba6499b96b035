// Embedded C units: compiled together on first use, each unit's symbols bound to its own functions, and a
// unit declared after that compile still usable. Names carry a per-test prefix: every unit of this process
// that is pending when an accessor is first called goes into the same compile.
import { describe, expect, test } from "bun:test";
import { embedC } from "../../ffi/compile.ts";

const unit = (prefix: string, fn: string, body: string): string => `static int twice(int x) { return 2 * x; }\nint ${prefix}_${fn}(int x) { ${body} }\n`;

describe("embedC", () => {
  test("units declared before the first use work, with static names of their own", () => {
    const a = embedC("a.c", unit("ca", "f", "return twice(x) + 1;"), { ca_f: { args: ["i32"], returns: "i32" } });
    const b = embedC("b.c", unit("cb", "g", "return twice(x) + 2;"), { cb_g: { args: ["i32"], returns: "i32" } });
    expect(a().ca_f(10)).toBe(21);
    expect(b().cb_g(10)).toBe(22);
    expect(a()).toBe(a());
  });

  test("a unit declared after another was compiled is compiled on its own first use", () => {
    const first = embedC("first.c", unit("cc1", "f", "return x + 1;"), { cc1_f: { args: ["i32"], returns: "i32" } });
    expect(first().cc1_f(1)).toBe(2);
    const later = embedC("later.c", unit("cc2", "f", "return x + 2;"), { cc2_f: { args: ["i32"], returns: "i32" } });
    expect(later().cc2_f(1)).toBe(3);
    expect(first().cc1_f(1)).toBe(2);
  });

  test("several symbols of one unit are each bound to their own function", () => {
    const source = "int cm_add(int a, int b) { return a + b; }\nint cm_sub(int a, int b) { return a - b; }\n";
    const fns = embedC("many.c", source, {
      cm_add: { args: ["i32", "i32"], returns: "i32" },
      cm_sub: { args: ["i32", "i32"], returns: "i32" },
    })();
    expect(fns.cm_add(7, 3)).toBe(10);
    expect(fns.cm_sub(7, 3)).toBe(4);
  });

  test("a compile error names the unit, fails it again on the next use, and spares units declared later", () => {
    const broken = embedC("broken.c", "int ce_f(void) { return }\n", { ce_f: { args: [], returns: "i32" } });
    expect(() => broken()).toThrow(/broken\.c/);
    expect(() => broken()).toThrow(/broken\.c/);
    const after = embedC("after.c", unit("ce2", "f", "return x + 3;"), { ce2_f: { args: ["i32"], returns: "i32" } });
    expect(after().ce2_f(1)).toBe(4);
  });
});
